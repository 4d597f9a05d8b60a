"""The report as one static HTML page: inline SVG charts, images in img/ beside it, no scripts, no network."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import jinja2

from wearforge import __version__

_BAR = "#4878a8"
_REF = "#e0a030"


def _fmt(v: Any, digits: int = 3) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        if v != 0 and (abs(v) >= 1e5 or abs(v) < 1e-3):
            return f"{v:.{digits}g}"
        return f"{v:.{digits}g}" if abs(v) < 1 else f"{v:,.{max(digits - 2, 1)}f}"
    return html.escape(str(v))


def bars_svg(labels: list[str], series: list[list[float]], colors: list[str] | None = None,
             width: int = 520, row: int = 18) -> str:
    """Horizontal bar chart, one row per label, one bar per series."""
    colors = colors or [_BAR, _REF]
    vmax = max([max(s) if s else 0 for s in series] + [1e-12])
    lw = 130
    h = row * len(labels) + 8
    parts = [f'<svg class="chart" width="{width}" height="{h}" xmlns="http://www.w3.org/2000/svg">']
    bh = (row - 4) / len(series)
    for i, label in enumerate(labels):
        y = 4 + i * row
        parts.append(f'<text x="{lw - 6}" y="{y + row / 2 + 4}" text-anchor="end">{html.escape(label)}</text>')
        for s, values in enumerate(series):
            v = values[i]
            w = (width - lw - 60) * v / vmax
            parts.append(f'<rect x="{lw}" y="{y + s * bh}" width="{w:.1f}" height="{bh - 1:.1f}" fill="{colors[s]}"/>')
            shown = f"{int(v)}" if float(v).is_integer() else _fmt(float(v))
            parts.append(f'<text x="{lw + w + 4:.1f}" y="{y + s * bh + bh - 2:.1f}" class="v">{shown}</text>')
    parts.append("</svg>")
    return "".join(parts)


def hist_svg(hist: dict | None, ref: list[int] | None = None, width: int = 170, height: int = 56,
             title: str = "") -> str:
    """Vertical histogram (with an optional requested-distribution outline) and its axis range."""
    if not hist or not hist.get("counts"):
        return '<span class="muted">no data</span>'
    counts, edges = hist["counts"], hist["edges"]
    n = len(counts)
    total = max(sum(counts), 1)
    rtotal = max(sum(ref), 1) if ref else 1
    peak = max([c / total for c in counts] + ([r / rtotal for r in ref] if ref else []) + [1e-12])
    bw = width / n
    ch = height - 14
    parts = [f'<svg class="chart" width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">']
    if title:
        parts.append(f"<title>{html.escape(title)}</title>")
    for i, c in enumerate(counts):
        bh = ch * (c / total) / peak
        parts.append(f'<rect x="{i * bw + 0.5:.1f}" y="{ch - bh:.1f}" width="{bw - 1:.1f}" height="{bh:.1f}" fill="{_BAR}"/>')
    if ref:
        pts = []
        for i, r in enumerate(ref):
            y = ch - ch * (r / rtotal) / peak
            pts += [f"{i * bw:.1f},{y:.1f}", f"{(i + 1) * bw:.1f},{y:.1f}"]
        parts.append(f'<polyline points="{" ".join(pts)}" fill="none" stroke="{_REF}" stroke-width="1.5"/>')
    parts.append(f'<text x="0" y="{height - 2}" class="v">{_fmt(float(edges[0]))}</text>')
    parts.append(f'<text x="{width}" y="{height - 2}" class="v" text-anchor="end">{_fmt(float(edges[-1]))}'
                 f'{" (log)" if hist.get("log") else ""}</text>')
    parts.append("</svg>")
    return "".join(parts)


_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>wearforge report: {{ name }}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}
h1{font-size:22px}h2{font-size:18px;border-bottom:1px solid #ccc;padding-bottom:4px;margin-top:32px}
table{border-collapse:collapse;margin:8px 0;font-size:13px}td,th{border:1px solid #ddd;padding:3px 7px;text-align:right;vertical-align:top}
th{background:#f3f3f3}td.l,th.l{text-align:left}.muted{color:#888}.flag{color:#b00;font-weight:bold}.ok{color:#080}
.chart text{font-size:11px;fill:#333}.chart text.v{font-size:10px;fill:#666}
.scores{display:flex;gap:16px}.score{border:1px solid #ccc;border-radius:6px;padding:10px 16px;min-width:250px}
.score b{font-size:20px}.grid{display:flex;flex-wrap:wrap;gap:6px}.grid figure{margin:0;font-size:11px;text-align:center}
.grid img{display:block;image-rendering:pixelated;border:1px solid #ccc}
.legend span{display:inline-block;width:12px;height:10px;margin:0 4px 0 10px}
</style></head><body>
<h1>Dataset report: {{ name }}</h1>
<p class="muted">{{ r.dataset }} · {{ r.frames }} frames · features {{ r.features.extractor }} ({{ r.features.dim }} numbers)
· built in {{ "%.1f"|format(r.seconds) }} s · wearforge {{ version }}</p>
{% if "scores" in sections %}<div class="scores">
<div class="score">Information richness<br><b>{{ s.information_richness.defect_instances }}</b> defect instances,
{{ s.information_richness.classes }} defect classes<br>parameter coverage <b>{{ pct(s.information_richness.parameter_coverage) }}</b>,
{{ s.information_richness.never_varied }} field(s) never varied, {{ s.information_richness.near_duplicate_pairs }} near-duplicate pair(s)</div>
<div class="score">Indistinguishability<br>{% if s.indistinguishability %}KID <b>{{ fmt(s.indistinguishability.kid) }}</b> ± {{ fmt(s.indistinguishability.kid_std) }}<br>
real-vs-synthetic classifier <b>{{ pct(s.indistinguishability.classifier_accuracy) }}</b> (50 % = indistinguishable){% else %}<span class="muted">no real photos given (--real FOLDER)</span>{% endif %}</div>
<div class="score">Intentionality<br>{% if s.intentionality %}<b>{{ s.intentionality.met }}/{{ s.intentionality.targets }}</b> targets met,
fulfilment <b>{{ pct(s.intentionality.fulfilment) }}</b>{% else %}<span class="muted">the recipe declares no targets{% if not r.coverage.reference %} (or no --recipe given){% endif %}</span>{% endif %}</div>
</div>{% endif %}

{% if "classes" in sections %}<h2>Classes</h2>
<p class="legend"><span style="background:{{ bar }}"></span>instances<span style="background:{{ ref }}"></span>frames containing the class</p>
{{ class_bars|safe }}
<table><tr><th class="l">class</th><th class="l">kind</th><th>instances</th><th>frames</th><th>median px</th><th>≥&nbsp;{{ learn }}&nbsp;px</th>
<th>median mm²</th><th>visible</th><th>ignored</th>
<th class="l">size in pixels</th><th class="l">size in mm²</th><th class="l">occlusion / truncation</th></tr>
{% for c in r.classes %}<tr><td class="l">{{ c.class }}</td><td class="l">{{ c.kind }}</td><td>{{ c.instances }}</td><td>{{ c.frames }}</td>
<td>{{ fmt(c.pixels.median) }}</td><td>{{ pct(c.learnable_fraction) }}</td><td>{{ fmt(c.mm2.median if c.mm2 else none) }}</td>
<td>{{ pct(c.visible_fraction) }}</td><td>{{ pct(c.ignored_fraction) if c.ignored_fraction is not none else ("n/a" if c.kind == "defect" else "") }}</td>
<td class="l">{{ hist(c.pixels_hist)|safe }}</td><td class="l">{{ hist(c.mm2_hist)|safe if c.mm2_hist else "" }}</td>
<td class="l">{% if c.occlusion_hist %}<span class="muted">occlusion, median {{ fmt(c.occlusion.median) }}</span><br>{{ hist(c.occlusion_hist)|safe }}{% endif %}{% if c.truncation_hist %}<br><span class="muted">truncation, median {{ fmt(c.truncation.median) }}</span><br>{{ hist(c.truncation_hist)|safe }}{% endif %}</td></tr>
{% endfor %}</table>
<p class="muted">Visible: defects: labelled / (labelled + ignored) pixels in the box{% if not r.labels.ignore_masks %} (this dataset has no ignore masks, so every labelled pixel counts as visible){% endif %}; parts: 1 − occlusion.
mm²: surface area under the instance's pixels (depth, camera and surface normal).</p>

{% endif %}
{% if "camera" in sections %}<h2>Camera and lighting</h2>
<table><tr><th class="l">camera distance (m)</th><th class="l">mean image luminance</th><th class="l">total light intensity (intensity · 2^exposure)</th></tr>
<tr><td class="l">{{ hist(r.camera_distance.hist if r.camera_distance else none)|safe }}</td>
<td class="l">{{ hist(r.lighting.image_luminance.hist)|safe }}</td>
<td class="l">{{ hist(r.lighting.light_intensity_total.hist if r.lighting.light_intensity_total else none)|safe }}</td></tr></table>

{% endif %}
{% if "coverage" in sections %}<h2>Parameter coverage</h2>
<p>{% if r.coverage.reference %}Blue: values in the frames; orange line: the recipe's requested distribution
({{ r.coverage.reference_frames }} FrameSpecs drawn from {{ r.coverage.reference.split("/")[-1] }} with a reference seed).
Coverage = share of the requested range's {{ 10 }} bins that frames reached; KS = two-sample Kolmogorov–Smirnov statistic.
{% else %}No --recipe given: sampled values only; fields that never changed are flagged.{% endif %}</p>
<table><tr><th class="l">field</th><th>values</th><th>distinct</th><th>coverage</th><th>KS</th><th class="l">distribution</th><th class="l">flags</th></tr>
{% for f in r.coverage.fields if not f.constant_by_design %}<tr><td class="l">{{ f.field }}</td><td>{{ f.n }}</td><td>{{ f.unique }}</td>
<td>{{ pct(f.coverage) if f.coverage is defined else "" }}</td><td>{{ fmt(f.ks) if f.ks is defined else "" }}</td>
<td class="l">{% if f.kind == "numeric" %}{{ hist({"counts": f.hist, "edges": f.edges}, f.requested_hist)|safe }}{% else %}{{ cats(f)|safe }}{% endif %}</td>
<td class="l">{% if f.never_varied %}<span class="flag">never varied</span>{% endif %}{% if f.missing %}<span class="flag">requested, never sampled</span>{% endif %}
{% if f.constant_by_design %}<span class="muted">constant in the recipe</span>{% endif %}{% if f.uncovered %} <span class="muted">uncovered: {{ f.uncovered|length }}</span>{% endif %}</td></tr>
{% endfor %}</table>
{% set fixed = r.coverage.fields|selectattr("constant_by_design")|list %}
{% if fixed %}<details><summary>{{ fixed|length }} field(s) constant in the recipe</summary><p class="muted">
{% for f in fixed %}{{ f.field }} = {{ fmt(f.min) if f.kind == "numeric" else f.requested|join(", ") }}{{ "" if loop.last else " · " }}{% endfor %}</p></details>{% endif %}

{% endif %}
{% if "duplicates" in sections %}<h2>Near-duplicate frames</h2>
<p>{{ r.near_duplicates.pairs }} pair(s) of frames whose 16×12 grey thumbnails correlate ≥ {{ r.near_duplicates.threshold }}.</p>
<div class="grid">{% for p in r.near_duplicates.shown %}<figure><img src="{{ p.a_img }}"><img src="{{ p.b_img }}">
<figcaption>frames {{ p.a }} / {{ p.b }}: {{ "%.4f"|format(p.similarity) }}</figcaption></figure>{% endfor %}</div>

{% endif %}
{% if "galleries" in sections %}<h2>Defect galleries</h2>
<p class="muted">Crops around defect instances (magenta: the instance's box), per class: well visible (≥ {{ learn }} px), mostly ignored, the smallest and the largest.</p>
{% for cls, g in r.galleries.items() %}<h3>{{ cls }}</h3>
{% for kind in ["visible", "ignored", "smallest", "largest"] %}<div><b>{{ kind }}</b>
{% if g[kind] %}<div class="grid">{% for it in g[kind] %}<figure><img src="{{ it.img }}" width="96"><figcaption>frame {{ it.frame }} · {{ fmt(it.pixels) }} px</figcaption></figure>{% endfor %}</div>
{% else %}<span class="muted">none</span>{% endif %}</div>{% endfor %}{% endfor %}

{% endif %}
{% if "targets" in sections %}<h2>Targets</h2>
{% if r.targets %}<table><tr><th class="l">class</th><th>wanted</th><th>size px</th><th>size mm²</th><th>min visible</th><th>achieved</th><th>shortfall</th></tr>
{% for t in r.targets %}<tr><td class="l">{{ t["class"] }}</td><td>{{ t.count }}</td><td>{{ t.pixels or "" }}</td><td>{{ t.mm2 or "" }}</td>
<td>{{ t.min_visibility }}</td><td>{{ t.achieved }}</td><td class="{{ 'ok' if t.met else 'flag' }}">{{ t.shortfall }}</td></tr>{% endfor %}</table>
{% else %}<p class="muted">No targets (declare them under <code>targets:</code> in the recipe and pass --recipe).</p>{% endif %}
{% if r.focus %}<p>This dataset focuses on hard cases: {{ r.focus.note }} (frames {{ r.focus.cases|join(", ") }};
weight {{ r.focus.weight }}, width {{ r.focus.width }}).</p>{% endif %}

{% endif %}
{% if "real" in sections %}<h2>Distance to real photos</h2>
{% if r.real %}{% set q = r.real %}
<p>{{ q.images }} real photos in {{ q.folder }}. KID = {{ fmt(q.kid.mean) }} ± {{ fmt(q.kid.std) }} ({{ q.kid.subsets }} subsets of {{ q.kid.subset_size }});
real-vs-synthetic classifier balanced accuracy {{ pct(q.classifier.balanced_accuracy) }} ± {{ pct(q.classifier.std) }} ({{ q.classifier.folds }}-fold).
Median distance of a real photo to its nearest frame: {{ fmt(q.median_distance) }} (to its nearest other real photo: {{ fmt(q.median_real_neighbour_distance) }}).</p>
<h3>Real photos the synthetic set covers worst, with their nearest frames</h3>
{% for it in q.shown %}<div class="grid"><figure><img src="{{ it.img }}"><figcaption>{{ it.image.split("/")[-1] }} · {{ fmt(it.distance) }}</figcaption></figure>
{% for nb in it.nearest %}<figure><img src="{{ nb.img }}"><figcaption>frame {{ nb.frame }} · {{ fmt(nb.distance) }}</figcaption></figure>{% endfor %}</div>{% endfor %}
{% else %}<p class="muted">No real photos given: run <code>wearforge report OUT --real FOLDER</code>.</p>{% endif %}
{% endif %}
</body></html>
"""


def _cats(field: dict) -> str:
    counts = field.get("counts", {})
    req = field.get("requested") or []
    labels = sorted(set(counts) | set(req))
    if not labels:
        return ""
    return bars_svg(labels, [[float(counts.get(k, 0)) for k in labels]], width=300, row=14)


SECTIONS = ("scores", "classes", "camera", "coverage", "duplicates", "galleries", "targets", "real")


def write_html(report: dict, path: Path, sections: tuple[str, ...] = SECTIONS) -> Path:
    """Render the report dict to a static page (``sections``: a subset, e.g. for screenshots)."""
    env = jinja2.Environment(autoescape=True, undefined=jinja2.ChainableUndefined)
    defects = [c for c in report["classes"]]
    labels = [f"{c['class']} ({c['kind']})" for c in defects]
    page = env.from_string(_TEMPLATE).render(
        r=report, s=report["scores"], name=Path(report["dataset"]).name, version=__version__,
        fmt=_fmt, pct=lambda v: "–" if v is None else f"{100 * v:.0f} %", hist=hist_svg, cats=_cats,
        class_bars=bars_svg(labels, [[float(c["instances"]) for c in defects], [float(c["frames"]) for c in defects]]),
        bar=_BAR, ref=_REF, learn=16, none=None, sections=sections)
    path.write_text(page, encoding="utf-8")
    return path
