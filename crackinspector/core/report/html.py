"""The HTML report: one self-contained page (inline CSS) linking the exported PNGs.

Links are relative (`overlays/001.png`), so the export folder can be moved, zipped or
published as it is.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any
from urllib.parse import quote

from crackinspector.core.io.atomic import atomic_write_text
from crackinspector.core.report import model as text

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em;color:#222}
h1{margin-bottom:0}.sub{color:#666;margin-top:.2em}
table{border-collapse:collapse;margin:.6em 0 1.2em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;font-size:.92em}
th{background:#f2f2f2}td.n{text-align:right;font-variant-numeric:tabular-nums}
section{margin-top:2.5em;border-top:2px solid #ddd;padding-top:1em}
img{max-width:100%;height:auto;border:1px solid #ccc}
.sw{display:inline-block;width:.9em;height:.9em;border:1px solid #555;vertical-align:middle;
margin-right:.3em}.failed{color:#b00}
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _href(rel: str) -> str:
    return quote(rel)


def _swatch(doc: dict[str, Any], cls: str) -> str:
    r, g, b = text.severity_color(doc, cls)
    return f'<span class="sw" style="background:rgb({r},{g},{b})"></span>{_e(cls)}'


def _summary(doc: dict[str, Any]) -> list[str]:
    s, st = doc["summary"], doc["settings"]
    rows = [
        ("Created", doc["created"]),
        ("Model", text.model_row(doc)),
        ("Minimum crack area", f"{st['min_area_px']} px"),
        (
            "Calibration",
            f"{st['fixed_mm_per_px']:g} mm/px for every image"
            if st["fixed_mm_per_px"]
            else "per folder / per image (see the table)",
        ),
        ("Severity scale", text.severity_line(doc)),
        ("Images", s["images"]),
        ("Images analysed", s["images_analysed"]),
        ("Images with cracks", s["images_with_cracks"]),
        ("Images failed", s["images_failed"]),
        ("Cracks", s["cracks"]),
        ("Total length", text.fmt_px_mm(s["total_length_px"], s["total_length_mm"])),
        ("Maximum width", text.max_width_text(s)),
    ]
    out = ["<table>"]
    out += [f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows]
    out.append("</table>")
    out.append("<h3>Cracks by severity</h3><table><tr><th>Class</th><th>Cracks</th></tr>")
    for cls, n in s["by_severity"].items():
        out.append(f'<tr><td>{_swatch(doc, cls)}</td><td class="n">{n}</td></tr>')
    out.append("</table>")
    return out


def _inspection(doc: dict[str, Any]) -> list[str]:
    """The inspection details and the review progress, at the top of the page."""
    out = []
    for ins in doc.get("inspections") or []:
        out.append('<table class="inspection">')
        out += [f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in text.inspection_lines(ins)]
        out.append("</table>")
    review = doc.get("review")
    if review:
        line = text.review_text(review)
        if review.get("reviewed_only"):
            line += (
                f"; accepted and corrected findings only ({review['left_out']} photo(s) left out)"
            )
        out.append(f'<p class="review"><b>Review:</b> {_e(line)}</p>')
    return out


def _image_table(doc: dict[str, Any]) -> list[str]:
    out = [
        "<h2>Images</h2><table><tr><th>File</th><th>Status</th><th>Cracks</th>"
        "<th>Crack area</th><th>Total length</th><th>Max width</th><th>mm/px</th>"
        "<th>Review</th></tr>"
    ]
    for img in doc["images"]:
        name = _e(img["file"])
        review = _e(text.review_cell(img["review"])) if img.get("review") else ""
        if img["status"] != "ok":
            out.append(
                f'<tr><td>{name}</td><td class="failed" colspan="6">failed: '
                f"{_e(img['error'])}</td><td>{review}</td></tr>"
            )
            continue
        link = f'<a href="#{_e(img["key"])}">{name}</a>' if img["exported"] else name
        length = text.fmt_px_mm(img["total_length_px"], img["total_length_mm"])
        out.append(
            f"<tr><td>{link}</td><td>ok</td><td class='n'>{img['n_cracks']}</td>"
            f"<td class='n'>{img['crack_area_pct']:.2f} %</td>"
            f"<td class='n'>{_e(length)}</td>"
            f"<td class='n'>{_e(text.fmt_px_mm(img['max_width_px'], img['max_width_mm']))}</td>"
            f"<td class='n'>{_e(img['mm_per_px'] or '-')}</td><td>{review}</td></tr>"
        )
    out.append("</table>")
    return out


def _section(doc: dict[str, Any], img: dict[str, Any]) -> list[str]:
    out = [f'<section id="{_e(img["key"])}"><h2>{_e(img["file"])}</h2>']
    out.append(
        f"<p>{img['width']} x {img['height']} px; {img['n_cracks']} cracks; crack area "
        f"{img['crack_area_pct']:.2f} %; total length "
        f"{_e(text.fmt_px_mm(img['total_length_px'], img['total_length_mm']))}; maximum width "
        f"{_e(text.fmt_px_mm(img['max_width_px'], img['max_width_mm']))}</p>"
    )
    if img.get("review"):
        out.append(f"<p><b>Review:</b> {_e(text.review_cell(img['review']))}</p>")
    files = img["files"]
    if "overlay" in files:
        out.append(
            f'<a href="{_href(files["overlay"])}"><img src="{_href(files["overlay"])}" '
            f'alt="{_e(img["file"])} with cracks marked"></a>'
        )
    links = [f'<a href="{_href(files[k])}">{k}</a>' for k in ("mask", "prob") if k in files]
    if links:
        out.append("<p>Also: " + ", ".join(links) + "</p>")
    if img["cracks"]:
        out.append(
            "<table><tr><th>#</th><th>Severity</th><th>Confidence</th><th>Length</th>"
            "<th>Max width</th><th>Mean width</th><th>Orientation</th>"
            "<th>Widest at (x, y)</th></tr>"
        )
        for c in img["cracks"]:
            out.append(
                f"<tr><td class='n'>{c['id']}</td><td>{_swatch(doc, c['severity'])}</td>"
                f"<td class='n'>{text.confidence_text(c['confidence'])}</td>"
                f"<td class='n'>{_e(text.fmt_px_mm(c['length_px'], c['length_mm']))}</td>"
                f"<td class='n'>{_e(text.fmt_px_mm(c['max_width_px'], c['max_width_mm']))}</td>"
                f"<td class='n'>{_e(text.fmt_px_mm(c['mean_width_px'], c['mean_width_mm']))}</td>"
                f"<td>{_e(c['orientation'])} ({c['angle_deg']:.0f}°)</td>"
                f"<td>{c['widest_point'][0]}, {c['widest_point'][1]}</td></tr>"
            )
        out.append("</table>")
    for line in (img.get("filtered_note"), img.get("resolution_note")):
        if line:
            out.append(f'<p class="sub">{_e(line)}</p>')
    out.append("</section>")
    return out


def render_html(doc: dict[str, Any]) -> str:
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>Crack inspection report</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>Crack inspection report</h1>",
        f'<p class="sub">CrackInspector {_e(doc["generator"]["version"])}, {_e(doc["created"])}'
        "</p>",
    ]
    parts += _inspection(doc)
    parts += _summary(doc)
    parts += _image_table(doc)
    for img in doc["images"]:
        if img["status"] == "ok" and img["exported"]:
            parts += _section(doc, img)
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write_html(doc: dict[str, Any], path: Path) -> None:
    atomic_write_text(path, render_html(doc))
