"""The one headless pipeline: photos in, analysed results and files out.

- `inputs`: which photos (collecting, output names, shards)
- `outputs`: where (output folder checks, the folder lock, atomic writes, error wording)
- `engine`: the per-image engine, decode -> predict -> analyse -> write, with progress,
  cancel and overlapped decode/write threads
- `predict`, `export`: the two jobs on the engine (`crackinspector predict` / `export`,
  and the GUI's export dialog); `merge`: shard folders into one

From code (the GUI's export dialog does this in a worker thread):

    from crackinspector.core.pipeline.export import ExportOptions, run_export
    result = run_export(paths, predictor, ExportOptions(out_dir, formats=("pdf",)),
                        progress=on_progress, cancel=stop_event.is_set)
"""
