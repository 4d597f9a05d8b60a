"""The ``wearforge`` command."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from wearforge import __version__
from wearforge.errors import InputError


def _default_workers_help() -> str:
    from wearforge.generate import default_workers

    n, why = default_workers()
    return f"Local worker processes, each rendering whole shards (default here: {n}, {why})."

EXAMPLES = """
Examples:

  wearforge generate recipes/demo.yaml                      # 16 frames into out/demo
  wearforge generate recipes/demo.yaml --frames 4 --out /tmp/try --set render.spp=16
  wearforge generate recipes/demo.yaml --workers 2            # two local worker processes
  wearforge generate recipes/demo.yaml --shards 3/8 && wearforge merge out/demo   # one task of a Slurm array
  wearforge validate recipes/demo.yaml
  wearforge sample recipes/demo.yaml --frame 3              # the FrameSpec of frame 3, as JSON
  wearforge assets                                          # bundled digital twins
  wearforge textures --out out/textures                     # every defect type, flat and close-up
  wearforge report out/demo --recipe recipes/demo.yaml --real photos/   # quality report + distance to photos
  wearforge focus out/demo --recipe recipes/demo.yaml --hard 3,7 --run  # more frames like the hard ones
"""

app = typer.Typer(
    name="wearforge",
    help="Synthetic inspection data from USD digital twins: randomized wear, lights, poses and exact labels.",
    epilog=EXAMPLES,
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
err = Console(stderr=True)
out = Console()

RecipeArg = Annotated[Path, typer.Argument(metavar="RECIPE", help="Recipe YAML file.", show_default=False)]
SetOpt = Annotated[Optional[list[str]], typer.Option("--set", help="Override a recipe field, e.g. --set render.spp=16 (repeatable).")]


def _version(value: bool) -> None:
    if value:
        out.print(f"wearforge {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log details (variant choice, timings).")] = False,
) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(message)s",
                        handlers=[RichHandler(console=err, show_path=False, show_time=False)])


def _load(recipe: Path, overrides: list[str]):
    from wearforge.recipe import load_recipe

    return load_recipe(recipe, overrides)


class _RateColumn(ProgressColumn):
    def render(self, task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:.2f} frames/s" if speed else "-- frames/s", style="cyan")


@app.command(epilog="Example: wearforge generate recipes/demo.yaml --frames 32 --out out/run1 --set seed=3")
def generate(
    recipe: RecipeArg,
    frames: Annotated[Optional[int], typer.Option("--frames", "-n", help="Number of frames (overrides the recipe).")] = None,
    out_dir: Annotated[Optional[Path], typer.Option("--out", "-o", help="Output directory (overrides output.dir).")] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", help="Master seed (overrides the recipe).")] = None,
    writer: Annotated[Optional[list[str]], typer.Option("--writer", "-w", help="Writer to run (repeatable): basic, coco, yolo, webdataset, stream.")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Start over in a folder holding another recipe's frames.")] = False,
    workers: Annotated[Optional[int], typer.Option("--workers", "-j", help=_default_workers_help(), show_default=False)] = None,
    ray: Annotated[bool, typer.Option("--ray", help="Run shards as Ray tasks on warm actors: a private local Ray "
                                                    "instance with --workers actors, or the cluster of --ray-address. "
                                                    "Needs pip install 'wearforge[ray]'.")] = False,
    ray_address: Annotated[Optional[str], typer.Option("--ray-address", metavar="ADDRESS",
                                                       help="Ray cluster to join (host:port, or 'auto' for the one "
                                                            "this node belongs to); implies --ray.")] = None,
    shards: Annotated[Optional[str], typer.Option("--shards", metavar="K/N",
                                                  help="Render only the shards whose index % N == K (one task of N, "
                                                       "e.g. $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT); finish "
                                                       "with wearforge merge.")] = None,
    set_: SetOpt = None,
) -> None:
    """Render annotated frames of a recipe and write them out."""
    from wearforge.generate import RunError, default_workers, parse_shard_spec
    from wearforge.generate import generate as run

    overrides = list(set_ or [])
    if frames is not None:
        overrides.append(f"frames={frames}")
    if out_dir is not None:
        overrides.append(f"output.dir={json.dumps(str(out_dir))}")
    if seed is not None:
        overrides.append(f"seed={seed}")
    if writer:
        overrides.append(f"output.writers={json.dumps(writer)}")
    if overwrite:
        overrides.append("output.overwrite=true")
    if workers is not None and workers < 1:
        raise InputError(f"must be at least 1, got {workers}", field="--workers")
    select = parse_shard_spec(shards) if shards is not None else None
    r = _load(recipe, overrides)
    if workers is None:
        workers = 1 if "stream" in r.output.writers else default_workers()[0]
    columns = [TextColumn("[bold]rendering"), BarColumn(), MofNCompleteColumn(), _RateColumn(),
               TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn()]
    with Progress(*columns, console=err, transient=False) as bar:
        task = bar.add_task("frames", total=r.frames)
        first = [True]

        def show(done: int, total: int) -> None:
            if first[0]:  # frames already there: the bar starts at them, the rate counts only new ones
                bar.reset(task, total=total, completed=done)
                first[0] = False
            else:
                bar.update(task, completed=done)

        try:
            result = run(r, progress=show, workers=workers, shards=select,
                         ray_address=ray_address or ("local" if ray else None))
        except KeyboardInterrupt:  # Typer would turn it into a silent exit 130
            bar.stop()
            _interrupted()
            raise typer.Exit(130) from None
        except RunError as exc:
            bar.stop()
            err.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(1)
    timing = ", ".join(f"{k} {v / max(result.frames, 1):.2f}s" for k, v in result.timing.items())
    skipped = r.frames - result.frames
    already = f", {skipped} already there" if skipped > 0 and select is None else ""
    how = f"{result.workers} workers, " if result.workers > 1 else ""
    out.print(f"[green]wrote {result.frames} frames[/green]{already} ({how}{result.variant or 'nothing rendered'}; "
              f"per frame: {timing or '-'})")
    out.print(f"dataset:       {result.output_dir.resolve()}")
    if not result.merged:
        out.print(f"shards {shards} done; when every task has finished: wearforge merge {result.output_dir}")
    if result.contact_sheet:
        out.print(f"contact sheet: {result.contact_sheet.resolve()}")
    for t in result.targets or []:
        state = "[green]met[/green]" if t["met"] else f"[yellow]short by {t['shortfall']}[/yellow]"
        out.print(f"target {t['class']}: {t['achieved']}/{t['count']} {state}")


@app.command(epilog="Example: wearforge merge out/demo")
def merge(
    out_dir: Annotated[Path, typer.Argument(metavar="OUT", help="Output directory of a run.", show_default=False)],
) -> None:
    """Rebuild a dataset's COCO, YOLO, WebDataset, contact sheet and manifests from its committed shards."""
    from wearforge.merge import merge as run

    merged = run(out_dir)
    for name, frames in merged.items():
        out.print(f"{name}: {len(frames)} frames")
    out.print(f"dataset: {out_dir.resolve()}")


@app.command()
def validate(recipe: RecipeArg, set_: SetOpt = None) -> None:
    """Check a recipe against its schema and its twin (the checks generate runs first); print what it will do."""
    from wearforge.stage import open_twin, read_scene
    from wearforge.usd_checks import check_twin

    r = _load(recipe, list(set_ or []))
    stage = open_twin(r)
    check_twin(stage, str(r.usd_path()))  # what generate checks first
    scene = read_scene(r, stage)
    _print_part_report(r, stage, scene)
    _print_summary(r)


def _print_summary(r) -> None:
    rnd = r.randomizers
    used = [n for n in ("materials", "lights", "poses", "physics", "wear") if getattr(rnd, n)]
    used += [n for n in ("camera", "sensor", "settle") if getattr(rnd, n) is not None]
    out.print(f"twin: {r.usd_path()}")
    out.print(f"frames: {r.frames}, seed: {r.seed}, resolution: {r.render.resolution[0]}x{r.render.resolution[1]}, "
              f"spp: {r.render.spp}, randomizers: {', '.join(used) or 'none'}")
    out.print(f"output: {r.output.dir} ({', '.join(r.output.writers)})")


def _print_part_report(r, stage, scene) -> None:
    """Per part: meshes, class, UVs, wear that binds, materials, and what the renderer approximates; raises
    InputError after the table when the run would label nothing."""
    from wearforge.twin_report import part_report, scene_problems
    from wearforge.twin_reader import read_geometry

    notes: dict[str, list[str]] = {}
    meshes = read_geometry(stage, {p.path: p.semantic_class for p in scene.parts}, notes=notes)
    reports, notes = part_report(r, stage, scene, meshes, notes=notes)
    problems = scene_problems(r, scene, meshes)
    verdict = "OK" if not problems else ("OK (empty output allowed)" if r.output.allow_empty else "refused")
    table = Table(title=f"recipe {r.name}: {verdict}", show_lines=False)
    for col in ("part", "class", "meshes", "triangles", "UVs", "wear", "materials"):
        table.add_column(col)
    for rep in reports:
        table.add_row(rep.path, rep.semantic_class, str(rep.meshes), str(rep.triangles), rep.uvs or "-",
                      ", ".join(rep.wear) or "-", "\n".join(rep.materials) or "-")
    out.print(table)
    if notes:
        out.print("approximated or left out:")
        for path, items in notes.items():
            for item in items:
                out.print(f"  {path}: {item}", highlight=False, markup=False)
    if problems and not r.output.allow_empty:  # generate would refuse it: so does validate (exit status 2)
        raise InputError("; ".join(problems) + " (set output.allow_empty=true if that is intended)",
                         source=f"recipe '{r.name}'", field="scene.parts")


@app.command()
def sample(
    recipe: RecipeArg,
    frame: Annotated[int, typer.Option("--frame", "-f", min=0, help="Frame index.")] = 0,
    seed: Annotated[Optional[int], typer.Option("--seed", help="Master seed (default: the recipe's).")] = None,
    set_: SetOpt = None,
) -> None:
    """Print the FrameSpec of one frame as JSON (no rendering)."""
    from wearforge.scenario import sample_frame

    r = _load(recipe, list(set_ or []))
    sys.stdout.write(sample_frame(r, seed, frame).to_json() + "\n")


@app.command()
def textures(
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Folder for wear_gallery.png.")] = Path("out/textures"),
    resolution: Annotated[int, typer.Option(min=64, max=4096, help="Texture size in texels (2048: 0.12 mm per "
                                                                  "texel on the bracket, inspection scale).")] = 2048,
    render: Annotated[bool, typer.Option("--render/--no-render", help="Also render a close-up of each swatch.")] = True,
    spp: Annotated[int, typer.Option(min=1, help="Samples per pixel of the close-ups.")] = 64,
    denoise: Annotated[Optional[bool], typer.Option("--denoise/--no-denoise", help="Close-ups through Open Image "
                                                    "Denoise (default: when pyoidn is installed).")] = None,
) -> None:
    """Gallery of every defect type at three severities (flat swatches and inspection-scale close-ups) as one PNG."""
    from wearforge.gallery import build_gallery
    from wearforge.generate import prepare_output

    prepare_output(out_dir)
    with Progress(TextColumn("[bold]wear gallery"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err) as bar:
        task = bar.add_task("swatches", total=30)
        path = build_gallery(out_dir, resolution, render, spp, progress=lambda d, t: bar.update(task, completed=d),
                             denoise=denoise)
    out.print(f"wear gallery: {path.resolve()}")


@app.command()
def assets() -> None:
    """List the bundled digital twins (use them in recipes as asset:NAME)."""
    from pxr import UsdGeom

    from wearforge.recipe import ASSETS_DIR
    from wearforge.semantics import semantic_class
    from wearforge.stage import open_stage

    table = Table(title=f"bundled twins in {ASSETS_DIR}")
    for col in ("name", "classes", "meshes", "triangles"):
        table.add_column(col)
    for path in sorted(ASSETS_DIR.glob("*.usda")):
        stage = open_stage(path)
        classes = sorted({c for p in stage.Traverse() if (c := semantic_class(p))})
        meshes = [UsdGeom.Mesh(p) for p in stage.Traverse() if p.IsA(UsdGeom.Mesh)]
        tris = sum(sum(c - 2 for c in (m.GetFaceVertexCountsAttr().Get() or [])) for m in meshes)
        table.add_row(f"asset:{path.stem}", ", ".join(classes), str(len(meshes)), str(tris))
    out.print(table)


@app.command(epilog="Example: wearforge report out/demo --recipe recipes/demo.yaml --real photos/")
def report(
    dataset: Annotated[Path, typer.Argument(metavar="OUT", help="Dataset folder (basic writer layout).", show_default=False)],
    real: Annotated[Optional[Path], typer.Option("--real", help="Folder of real photos to measure the distance to.")] = None,
    recipe: Annotated[Optional[Path], typer.Option("--recipe", "-r", help="The recipe the dataset was made from "
                                                   "(parameter coverage and targets).")] = None,
    features: Annotated[Optional[Path], typer.Option("--features", help="Own feature model (ONNX, NCHW RGB in [0, 1]) "
                                                     "instead of the hand-built features.")] = None,
    report_dir: Annotated[Optional[Path], typer.Option("--out", "-o", help="Report folder (default OUT/report).")] = None,
    duplicates: Annotated[float, typer.Option("--duplicate-threshold", min=0.0, max=1.0,
                                              help="Thumbnail correlation above which two frames are near-duplicates.")] = 0.985,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64, help="Threads reading frames.")] = 2,
    set_: SetOpt = None,
) -> None:
    """Measure a dataset: class balance, sizes, visibility, coverage, duplicates, targets, distance to real photos."""
    from wearforge.report import Options, build_report

    opts = Options(real=real, recipe=recipe, features=features, duplicate_threshold=duplicates, workers=workers,
                   overrides=list(set_ or []))
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=True) as bar:
        tasks: dict[str, int] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done)

        result = build_report(dataset, report_dir, opts, progress)
    s = result["scores"]
    rich_ = s["information_richness"]
    cov = rich_["parameter_coverage"]
    out.print(f"[bold]information richness[/bold]: {result['frames']} frames, {rich_['defect_instances']} defect "
              f"instances in {rich_['classes']} defect classes; parameter coverage "
              f"{'n/a (no --recipe)' if cov is None else f'{100 * cov:.0f} %'}, {rich_['never_varied']} field(s) never "
              f"varied, {rich_['near_duplicate_pairs']} near-duplicate pair(s)")
    ind = s["indistinguishability"]
    if ind:
        out.print(f"[bold]indistinguishability[/bold]: KID {ind['kid']:.4f} ± {ind['kid_std']:.4f}, real-vs-synthetic "
                  f"classifier {100 * ind['classifier_accuracy']:.0f} % (50 % = indistinguishable)")
    else:
        out.print("[bold]indistinguishability[/bold]: n/a (give --real FOLDER)")
    intent = s["intentionality"]
    if intent:
        out.print(f"[bold]intentionality[/bold]: {intent['met']}/{intent['targets']} targets met, "
                  f"fulfilment {100 * intent['fulfilment']:.0f} %")
        for t in result["targets"]:
            if not t["met"]:
                out.print(f"  {t['class']}: {t['achieved']}/{t['count']}, short by {t['shortfall']}")
    else:
        out.print("[bold]intentionality[/bold]: n/a (no targets in the recipe" + ("" if recipe else ", no --recipe") + ")")
    folder = (report_dir or dataset / "report").resolve()
    out.print(f"report: {folder / 'index.html'}")


@app.command(epilog="Example: wearforge focus out/demo --recipe recipes/demo.yaml --scores model_scores.csv --run")
def focus(
    dataset: Annotated[Path, typer.Argument(metavar="OUT", help="Dataset folder the hard cases come from.", show_default=False)],
    recipe: Annotated[Path, typer.Option("--recipe", "-r", help="The recipe the dataset was made from.")],
    hard: Annotated[Optional[str], typer.Option("--hard", help="Hard frame indices, e.g. 3,7,12.")] = None,
    scores: Annotated[Optional[Path], typer.Option("--scores", help="CSV (frame,score[,instance]) or JSON of a model's "
                                                   "scores; low = hard.")] = None,
    quantile: Annotated[float, typer.Option("--quantile", min=0.0, max=1.0, help="With --scores: the lowest share "
                                            "taken as hard.")] = 0.2,
    below: Annotated[Optional[float], typer.Option("--below", help="With --scores: frames scored below this are hard "
                                                   "(instead of --quantile).")] = None,
    failures: Annotated[Optional[Path], typer.Option("--failures", help="Folder of real photos the model failed on: "
                                                     "their nearest frames are hard.")] = None,
    uncovered: Annotated[bool, typer.Option("--uncovered", help="Also aim at the parameter bins the report found "
                                            "uncovered (needs OUT/report from `wearforge report --recipe`).")] = False,
    features: Annotated[Optional[Path], typer.Option("--features", help="Own feature model (ONNX) for --failures.")] = None,
    weight: Annotated[float, typer.Option("--weight", min=0.0, max=1.0, help="Share of new frames drawn around "
                                          "the hard cases.")] = 0.7,
    width: Annotated[float, typer.Option("--width", min=0.0, max=1.0, help="Spread around a hard case, as a fraction "
                                         "of the original spread.")] = 0.15,
    frames: Annotated[Optional[int], typer.Option("--frames", "-n", min=1, help="Frames of the focus dataset.")] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", min=0, help="Seed of the focus recipe (default: derived, "
                                                "never the original's).")] = None,
    out_recipe: Annotated[Optional[Path], typer.Option("--out-recipe", help="Where to write the recipe "
                                                       "(default OUT/focus.yaml).")] = None,
    out_dir: Annotated[Optional[Path], typer.Option("--out", "-o", help="Output folder of the focus dataset "
                                                    "(default OUT_focus).")] = None,
    run_it: Annotated[bool, typer.Option("--run", help="Generate the focus dataset right away.")] = False,
    set_: SetOpt = None,
) -> None:
    """Turn hard cases into a recipe that extends the original and draws more frames like them."""
    from wearforge import focus as fx

    chosen: set[int] = set()
    notes = []
    if hard:
        try:
            picked = {int(v) for v in hard.replace(" ", "").split(",") if v}
        except ValueError:
            raise InputError(f"expected frame indices like 3,7,12, got {hard!r}", field="--hard") from None
        chosen |= picked
        notes.append(f"frames {sorted(picked)}")
    if scores is not None:
        picked = set(fx.hardest(fx.read_scores(scores), quantile, below))
        chosen |= picked
        notes.append(f"{len(picked)} lowest-scored frame(s) in {scores.name}")
    if failures is not None:
        picked = set(fx.nearest_frames(dataset, failures, features))
        chosen |= picked
        notes.append(f"nearest frames of the failure photos in {failures}")
    extra: list[dict] = []
    if uncovered:
        extra, bins = fx.uncovered_cases(dataset)
        shown = ", ".join(f"{k}={v:.3g}" for k, v in bins[:6])
        notes.append(f"{len(extra)} uncovered bin(s): {shown}{' ...' if len(bins) > 6 else ''}")
    if not chosen and not extra:
        raise InputError("no hard cases: give --hard, --scores, --failures or --uncovered")
    target = out_recipe or dataset / "focus.yaml"
    folder = str(out_dir or dataset.with_name(dataset.name + "_focus"))
    path = fx.write_focus_recipe(recipe, dataset, sorted(chosen), target, weight=weight, width=width, frames=frames,
                                 seed=seed, out_dir=folder, note="; ".join(notes), extra_cases=extra)
    out.print(f"focus recipe: {path.resolve()} ({len(chosen) + len(extra)} case(s): {'; '.join(notes)})")
    if run_it:
        generate(path, frames=None, out_dir=None, seed=None, writer=None, overwrite=False, set_=set_)


def main() -> None:
    """Entry point: input problems print one message and exit with status 2, never a traceback."""
    try:
        app()
    except InputError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False, markup=True, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        _interrupted()
        sys.exit(130)


def _interrupted() -> None:
    err.print("interrupted; files written so far are complete", highlight=False)
    if len(sys.argv) > 1 and sys.argv[1] == "generate":
        import shlex

        # the same command renders only the missing frames (the manifests say which are done)
        err.print(f"resume with: wearforge {shlex.join(sys.argv[1:])}", highlight=False, markup=False, soft_wrap=True)


if __name__ == "__main__":
    main()
