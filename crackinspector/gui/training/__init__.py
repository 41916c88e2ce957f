"""Training from the GUI: a wizard, a live loss chart, and a list of runs.

The main window makes one `ui.TrainingUi` and connects its Tools menu actions to
`open_wizard` and `open_runs`; everything else lives in this package:
- wizard.py (+ data_page, model_page, settings_page, summary_page): the four-page wizard;
  its checks and estimates are training.check / training.plan / training.estimate, run in
  background tasks (crackinspector.gui.tasks).
- manager.py / process.py: trainers started detached (training.launch), so they outlive the
  GUI, and followed through their run folders; found again after a restart by their lock.
- monitor.py + chart.py + widgets.py: one run's window (QPainter chart, log, Stop/Resume).
- runs_window.py: every run in the runs folder (training.runs reads them back).
The Qt-free rules (what a run trains on, names, history, comparison) live in training/.
"""
