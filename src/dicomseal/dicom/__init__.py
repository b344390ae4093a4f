"""DICOM format layer shared by every command: bounded reading primitives (PS3.5, PS3.10)."""
