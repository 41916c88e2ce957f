"""The PDF report (fpdf2): a summary page, then one section per exported image.

The summary lists date, model and threshold, calibration, severity scale, image counts,
total length, maximum width and cracks by severity, and a table of all images (failed ones
with their reason). Each image section starts on a new page with the annotated overlay
(a JPEG made for the PDF; the lossless PNG is the exported file) and its crack table.
Built in memory and written in one atomic step.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from crackinspector.core.io.atomic import atomic_write_bytes
from crackinspector.core.report import model as text

PAGE_W = 210.0
MARGIN = 12.0
FIGURE_MAX_H = 150.0


def _t(text: Any) -> str:
    """Core PDF fonts are Latin-1: anything else becomes '?' rather than failing."""
    return ("" if text is None else str(text)).encode("latin-1", "replace").decode("latin-1")


class _ReportPDF(FPDF):
    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Helvetica", size=8)
        self.set_text_color(120)
        self.cell(0, 6, _t(f"CrackInspector report - page {self.page_no()}/{{nb}}"), align="C")
        self.set_text_color(0)


def _heading(pdf: FPDF, text: str, size: float = 14) -> None:
    pdf.set_font("Helvetica", "B", size)
    pdf.cell(0, size * 0.55, _t(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(1.5)
    pdf.set_font("Helvetica", size=9)


def _key_values(pdf: FPDF, rows: list[tuple[str, str]]) -> None:
    pdf.set_font("Helvetica", size=9)
    for key, value in rows:
        pdf.set_font("Helvetica", "B", 9)
        pdf.cell(45, 5, _t(key))
        pdf.set_font("Helvetica", size=9)
        pdf.multi_cell(0, 5, _t(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _table(
    pdf: FPDF,
    header: list[str],
    rows: list[list[str]],
    widths: tuple[float, ...],
    colors: Sequence[tuple[int, ...] | None] | None = None,
) -> None:
    pdf.set_font("Helvetica", size=8)
    with pdf.table(
        col_widths=widths,
        width=sum(widths),
        align="LEFT",
        line_height=4.6,
        first_row_as_headings=True,
        repeat_headings=1,
    ) as table:
        head = table.row()
        for h in header:
            head.cell(_t(h))
        for i, values in enumerate(rows):
            row = table.row()
            for j, v in enumerate(values):
                # column 1 is a colour swatch when colours are given
                color = colors[i] if colors else None
                if j == 1 and color:
                    row.cell("", style=_fill_style(color))
                else:
                    row.cell(_t(v))


def _fill_style(color: tuple[int, ...]) -> Any:
    from fpdf.fonts import FontFace

    return FontFace(fill_color=tuple(int(c) for c in color))


def _summary_page(pdf: FPDF, doc: dict[str, Any]) -> None:
    s, st = doc["summary"], doc["settings"]
    pdf.add_page()
    _heading(pdf, "Crack inspection report", 18)
    pdf.ln(2)
    for ins in doc.get("inspections") or []:
        _key_values(pdf, text.inspection_lines(ins))
        pdf.ln(1)
    review = doc.get("review")
    if review:
        line = text.review_text(review)
        if review.get("reviewed_only"):
            line += f"; accepted and corrected findings only ({review['left_out']} left out)"
        _key_values(pdf, [("Review", line)])
        pdf.ln(1)
    calibration = (
        f"{st['fixed_mm_per_px']:g} mm/px for every image"
        if st["fixed_mm_per_px"]
        else ("per folder / per image" if s["all_calibrated"] else "none for some or all images")
    )
    _key_values(
        pdf,
        [
            ("Created", doc["created"]),
            ("Software", f"CrackInspector {doc['generator']['version']}"),
            ("Model", text.model_row(doc)),
            ("Minimum crack area", f"{st['min_area_px']} px"),
            ("Calibration", calibration),
            ("Severity scale", text.severity_line(doc)),
            ("Scale source", st["severity"]["source"]),
            ("Images", f"{s['images']} given, {s['images_analysed']} analysed, "
             f"{s['images_failed']} failed"),
            ("Images with cracks", str(s["images_with_cracks"])),
            ("Cracks", str(s["cracks"])),
            ("Total length", text.fmt_px_mm(s["total_length_px"], s["total_length_mm"])),
            ("Maximum width", text.max_width_text(s)),
        ],
    )  # fmt: skip
    pdf.ln(3)
    _heading(pdf, "Cracks by severity", 11)
    colors: list[tuple[int, ...] | None] = [text.severity_color(doc, c) for c in s["by_severity"]]
    _table(
        pdf,
        ["Class", "", "Cracks"],
        [[c, "", str(n)] for c, n in s["by_severity"].items()],
        (40, 8, 20),
        colors,
    )
    pdf.ln(2)
    _heading(pdf, "Images", 11)
    rows = []
    for img in doc["images"]:
        if img["status"] != "ok":
            rows.append([img["file"], "failed", "", "", "", _t(img["error"])[:70]])
            continue
        note = "" if img["exported"] else "no cracks, not exported"
        if img.get("review"):
            note = "; ".join(x for x in (text.review_cell(img["review"]), note) if x)
        rows.append(
            [
                img["file"],
                str(img["n_cracks"]),
                f"{img['crack_area_pct']:.2f} %",
                text.fmt_px_mm(img["total_length_px"], img["total_length_mm"]),
                text.fmt_px_mm(img["max_width_px"], img["max_width_mm"]),
                note,
            ]
        )
    _table(
        pdf,
        ["File", "Cracks", "Area", "Total length", "Max width", "Review / note"],
        rows,
        (40, 14, 16, 40, 34, 42),
    )


def _image_section(pdf: FPDF, doc: dict[str, Any], img: dict[str, Any], figure: bytes | None):
    pdf.add_page()
    _heading(pdf, img["file"], 13)
    scale = (
        f"{img['mm_per_px']:g} mm/px ({img['calibration_source']})"
        if img["mm_per_px"]
        else "not calibrated"
    )
    pdf.multi_cell(
        0,
        5,
        _t(
            f"{img['width']} x {img['height']} px, {scale}; "
            f"{img['n_cracks']} cracks, crack area {img['crack_area_pct']:.2f} %, total length "
            f"{text.fmt_px_mm(img['total_length_px'], img['total_length_mm'])}, maximum width "
            f"{text.fmt_px_mm(img['max_width_px'], img['max_width_mm'])}"
        ),
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    if img.get("review"):
        pdf.multi_cell(
            0, 5, _t("Review: " + text.review_cell(img["review"])),
            new_x=XPos.LMARGIN, new_y=YPos.NEXT,
        )  # fmt: skip
    pdf.ln(2)
    if figure:
        avail_w = PAGE_W - 2 * MARGIN
        ratio = img["height"] / max(img["width"], 1)
        w = min(avail_w, FIGURE_MAX_H / ratio)
        h = w * ratio
        pdf.image(io.BytesIO(figure), x=MARGIN + (avail_w - w) / 2, w=w, h=h)
        pdf.ln(3)
    unlisted = img.get("filtered_note")
    if not img["cracks"]:
        pdf.cell(0, 5, "No cracks found.", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        if unlisted:
            pdf.cell(0, 5, _t(unlisted), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        return
    colors: list[tuple[int, ...] | None] = [
        text.severity_color(doc, c["severity"]) for c in img["cracks"]
    ]
    rows = [
        [
            str(c["id"]),
            "",
            c["severity"],
            text.confidence_text(c["confidence"]),
            text.fmt_px_mm(c["length_px"], c["length_mm"]),
            text.fmt_px_mm(c["max_width_px"], c["max_width_mm"]),
            text.fmt_px_mm(c["mean_width_px"], c["mean_width_mm"]),
            f"{c['orientation']} ({c['angle_deg']:.0f} deg)",
            f"{c['widest_point'][0]}, {c['widest_point'][1]}",
        ]
        for c in img["cracks"]
    ]
    _table(
        pdf,
        ["#", "", "Severity", "Conf.", "Length", "Max width", "Mean width", "Orientation",
         "Widest at"],
        rows,
        (8, 5, 18, 11, 34, 31, 31, 29, 19),
        colors,
    )  # fmt: skip
    for line in (unlisted, img.get("resolution_note")):
        if line:
            pdf.ln(1)
            pdf.multi_cell(0, 5, _t(line), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def render_pdf(doc: dict[str, Any], figures: Mapping[str, bytes]) -> bytes:
    """The report as PDF bytes; `figures` maps an image's key to its JPEG overlay."""
    pdf = _ReportPDF(orientation="P", unit="mm", format="A4")
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_auto_page_break(True, margin=16)
    pdf.set_title("Crack inspection report")
    pdf.set_creator(f"CrackInspector {doc['generator']['version']}")
    pdf.alias_nb_pages()
    _summary_page(pdf, doc)
    for img in doc["images"]:
        if img["status"] == "ok" and img["exported"]:
            _image_section(pdf, doc, img, figures.get(img["key"]))
    return bytes(pdf.output())


def write_pdf(doc: dict[str, Any], figures: Mapping[str, bytes], path: Path) -> None:
    atomic_write_bytes(path, render_pdf(doc, figures))
