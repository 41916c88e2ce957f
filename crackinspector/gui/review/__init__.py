"""The review loop in the GUI (issue 10 sections 2 and 3; issue 12's severity table).

The Qt-free rules live in crackinspector.core.review (store, MaskEditor, EditSession, flow);
this package only wires widgets to them:

- edit_layer.EditLayer: the edited mask drawn over the photo, repainted only in the
  rectangle an edit changed.
- tools.ViewerTools: brush, eraser, lasso fill/erase, delete-crack and calibration-line
  input on the viewer's viewport (mouse and Ctrl+wheel), with an outline cursor at the
  brush's true size at any zoom.
- controller.ReviewController: one EditSession per photo on screen, review keys (A, F, E,
  U, Space/N, T for the note), undo/redo, the status-bar progress, the image list filter;
  measurements follow each edit through gui/measurements.py (analyse(..., mask=...)).
- panel.ReviewPanel: the Review dock (status, note, filter, tools, severity legend,
  resolution sentence, minimum confidence).
- dialogs: inspection details, severity class table, calibration line length.
"""
