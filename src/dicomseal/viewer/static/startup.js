// dicomseal viewer start-up: asks /api/status while the medium is verified, shows the
// progress, and as soon as the verdict is in shows its line and reloads the page (which
// then shows the verdict and the images). Each question waits on the server for the
// verdict (?wait=): an answer comes when the verdict is in, or after half a second with
// the progress, so the verdict is seen at once without asking many times.
// Only numbers and the server's own lines are shown, with textContent.
"use strict";

(function () {
  const line = document.getElementById("startup-line");
  const bar = document.getElementById("startup-progress");
  const note = document.getElementById("startup-note");
  const banner = document.getElementById("verdict-banner");
  const KINDS = ["passed", "altered", "unverifiable", "unsigned"];
  const show = (status) => {
    if (status.total) {
      bar.max = status.total;
      bar.value = status.done;
    }
    document.body.dataset.phase = status.status;
    // the verdict itself once it is in (the reading page follows), else the phase
    const kind = status.status === "ready" && KINDS.includes(status.kind) ? status.kind : null;
    line.textContent = kind ? status.verdict : status.message;
    banner.dataset.kind = kind || status.status;
    banner.className = `verdict verdict-${kind || status.status}${kind && status.amber ? " verdict-amber" : ""}`;
  };
  const poll = async () => {
    let status;
    const asked = Date.now();
    try {
      const response = await fetch("/api/status?wait=0.5", { cache: "no-store" });
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
      // the server held the answer back; an answer that came at once waits here instead
      window.setTimeout(poll, Date.now() - asked < 200 ? 250 : 0);
    }
  };
  if (document.body.dataset.phase === "verifying") {
    poll();
  }
})();
