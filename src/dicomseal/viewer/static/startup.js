// dicomseal viewer start-up: polls /api/status while the medium is verified and reloads
// the page (which then shows the verdict and the images) as soon as the verdict is in:
// every 250 ms, every 40 ms once nine files in ten are verified (the verdict is near).
// Only numbers and the server's own status line are shown, with textContent.
"use strict";

(function () {
  const line = document.getElementById("startup-line");
  const bar = document.getElementById("startup-progress");
  const note = document.getElementById("startup-note");
  const banner = document.getElementById("verdict-banner");
  const show = (status) => {
    line.textContent = status.message;
    if (status.total) {
      bar.max = status.total;
      bar.value = status.done;
    }
    document.body.dataset.phase = status.status;
    banner.dataset.kind = status.status;
    banner.className = `verdict verdict-${status.status}`;
  };
  const poll = async () => {
    let status;
    try {
      const response = await fetch("/api/status", { cache: "no-store" });
      status = await response.json();
    } catch (err) {
      line.textContent = "The viewer stopped (the dicomseal view command has ended).";
      return;
    }
    show(status);
    if (status.status === "ready") {
      window.location.reload();
    } else if (status.status === "failed") {
      note.textContent = "Nothing from this medium is shown: its verification could not complete.";
    } else {
      window.setTimeout(poll, delay(status));
    }
  };
  const delay = (status) => (status.total && status.done * 10 >= status.total * 9 ? 40 : 250);
  if (document.body.dataset.phase === "verifying") {
    window.setTimeout(poll, 250);
  }
})();
