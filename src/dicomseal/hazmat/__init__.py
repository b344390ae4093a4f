"""Hazardous materials: byte-exact primitives of PS3.15 digital signatures.

.. danger::

   This is a "Hazardous Materials" package, in the sense of ``cryptography.hazmat``.
   You should **ONLY** use it if you are absolutely sure you know what you are doing:
   it is full of land mines, dragons and dinosaurs with laser guns. Nothing here gives
   a verdict, checks trust or fails closed on its own; use :mod:`dicomseal.signature`
   (``sign_file``, ``verify_file``) instead.

What lives here, each a module of its own:

* :mod:`~dicomseal.hazmat.elements` - the bounded Part 10 span walker (PS3.5 §7, PS3.10 §7);
* :mod:`~dicomseal.hazmat.mac_stream` - the MAC byte stream (PS3.15 §C.12.1.1.3.1);
* :mod:`~dicomseal.hazmat.normalize` - string values as DCMTK ``dcmsign`` hashes them;
* :mod:`~dicomseal.hazmat.dcmtk_dictionary` - the VRs dcmsign gives Implicit VR elements;
* :mod:`~dicomseal.hazmat.transcode` - big-endian and deflated data sets as Explicit VR LE;
* :mod:`~dicomseal.hazmat.ambiguity` - what two DICOM readers may read differently;
* :mod:`~dicomseal.hazmat.raw` - RSA / ECDSA over the MAC digest (PS3.15 §C.1);
* :mod:`~dicomseal.hazmat.assemble` - bit-preserving re-assembly of a signed file.
"""
