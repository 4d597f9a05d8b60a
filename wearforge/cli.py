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

EXAMPLES = """
Examples:

  wearforge generate recipes/demo.yaml                      # 16 frames into out/demo
  wearforge generate recipes/demo.yaml --frames 4 --out /tmp/try --set render.spp=16
  wearforge validate recipes/demo.yaml
  wearforge sample recipes/demo.yaml --frame 3              # the FrameSpec of frame 3, as JSON
  wearforge assets                                          # bundled digital twins
  wearforge textures --out out/textures                     # every defect type, flat and rendered
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
    set_: SetOpt = None,
) -> None:
    """Render annotated frames of a recipe and write them out."""
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
    r = _load(recipe, overrides)
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
            result = run(r, progress=show)
        except KeyboardInterrupt:  # Typer would turn it into a silent exit 130
            bar.stop()
            _interrupted()
            raise typer.Exit(130) from None
    timing = ", ".join(f"{k} {v / max(result.frames, 1):.2f}s" for k, v in result.timing.items())
    skipped = r.frames - result.frames
    already = f", {skipped} already there" if skipped else ""
    out.print(f"[green]wrote {result.frames} frames[/green]{already} ({result.variant}; per frame: {timing})")
    out.print(f"dataset:       {result.output_dir.resolve()}")
    if result.contact_sheet:
        out.print(f"contact sheet: {result.contact_sheet.resolve()}")


@app.command()
def validate(recipe: RecipeArg, set_: SetOpt = None) -> None:
    """Check a recipe against its schema and its twin (the checks generate runs first); print what it will do."""
    from wearforge.stage import open_twin, read_scene
    from wearforge.usd_checks import check_parts, check_twin

    r = _load(recipe, list(set_ or []))
    stage = open_twin(r)
    check_twin(stage, str(r.usd_path()))  # what generate checks first
    scene = read_scene(r, stage)
    check_parts([p.path for p in scene.parts], str(r.usd_path()))
    table = Table(title=f"recipe {r.name}: OK", show_lines=False)
    table.add_column("part")
    table.add_column("class")
    for p in scene.parts:
        table.add_row(p.path, p.semantic_class)
    out.print(table)
    rnd = r.randomizers
    used = [n for n in ("materials", "lights", "poses", "physics", "wear") if getattr(rnd, n)]
    used += [n for n in ("camera", "sensor", "settle") if getattr(rnd, n) is not None]
    out.print(f"twin: {r.usd_path()}")
    out.print(f"frames: {r.frames}, seed: {r.seed}, resolution: {r.render.resolution[0]}x{r.render.resolution[1]}, "
              f"spp: {r.render.spp}, randomizers: {', '.join(used) or 'none'}")
    out.print(f"output: {r.output.dir} ({', '.join(r.output.writers)})")


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
    resolution: Annotated[int, typer.Option(min=64, max=4096, help="Texture size in texels.")] = 512,
    render: Annotated[bool, typer.Option("--render/--no-render", help="Also render each swatch on the part.")] = True,
    spp: Annotated[int, typer.Option(min=1, help="Samples per pixel of the renders.")] = 32,
) -> None:
    """Gallery of every defect type at three intensities (flat swatches and rendered) as one PNG."""
    from wearforge.gallery import build_gallery
    from wearforge.generate import prepare_output

    prepare_output(out_dir)
    with Progress(TextColumn("[bold]wear gallery"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err) as bar:
        task = bar.add_task("swatches", total=30)
        path = build_gallery(out_dir, resolution, render, spp, progress=lambda d, t: bar.update(task, completed=d))
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
