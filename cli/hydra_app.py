"""Running a Hydra app the plugmt way: overrides composed (every value of a sweep) before Hydra runs,
so a mistake is one `plugmt: error:` line and exit 2; a user error in one job of a sweep recorded
while the sweep goes on; plugmt's `--version`; and the store and translator a config names."""

from __future__ import annotations

import contextlib
import functools
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from plugmt.cli.spelling import respell
from plugmt.errors import PlugmtError, exit_with_error, one_line

log = logging.getLogger("plugmt")
CONFIG_PATH = "pkg://plugmt.conf"
# plugmt-translate and plugmt-export: apart, so their files are no config group of the training apps.
APPS_CONFIG_PATH = "pkg://plugmt.cli.conf"

_fail = exit_with_error


_SWEEP_FAILURES: list[str] = []  # this process's failed sweep jobs, reported once the sweep ends


def _in_sweep() -> bool:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def user_errors(task: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A PlugmtError becomes one line on stderr and exit status 2, never a traceback.

    In a `-m` sweep the line goes to the job's log (its plugmt.log) too and the sweep carries on
    with its other jobs (a SystemExit would end it, and an exception would end it in a traceback
    once every job ran); the sweep then ends with one line naming the failed jobs, and exit status 2.
    """

    @functools.wraps(task)
    def wrapped(cfg: Any) -> Any:
        try:
            return task(cfg)
        except PlugmtError as error:
            if not _in_sweep():
                _drop_empty_run_folder()
                _fail(str(error))
            from hydra.core.hydra_config import HydraConfig

            job = HydraConfig.get().job
            line = f"plugmt: error: {one_line(error)}"
            log.error(line)
            _SWEEP_FAILURES.append(f"#{job.num} ({job.override_dirname or 'defaults'}): {one_line(error)}")
            return None

    return wrapped


def _drop_empty_run_folder() -> None:
    """A run refused before it did anything leaves no `outputs/<date>/<time>/` behind: the folder
    goes when it holds only Hydra's record (`.hydra/`) and an empty plugmt.log."""
    import shutil

    from hydra.core.hydra_config import HydraConfig

    folder = Path(HydraConfig.get().runtime.output_dir).resolve()
    if folder == Path.cwd().resolve() or folder in Path.cwd().resolve().parents:
        return  # hydra.run.dir=. (or above): the user's own folder, never removed
    names = {p.name for p in folder.iterdir()} if folder.is_dir() else {"?"}
    log_file = folder / "plugmt.log"
    if names <= {".hydra", "plugmt.log"} and (not log_file.exists() or log_file.stat().st_size == 0):
        for handler in logging.getLogger().handlers:  # the log file is open: close it first
            handler.close()
        shutil.rmtree(folder, ignore_errors=True)
        if folder.parent.parent.name == "outputs":  # Hydra's default outputs/<date>/<time>
            with contextlib.suppress(OSError):
                folder.parent.rmdir()  # outputs/<date>/, if this was its only run
                folder.parent.parent.rmdir()  # and outputs/, likewise


def report_sweep_failures() -> None:
    if _SWEEP_FAILURES:
        failed, shown = len(_SWEEP_FAILURES), _SWEEP_FAILURES[0]
        more = f"; and {failed - 1} more (see each job's plugmt.log)" if failed > 1 else ""
        _SWEEP_FAILURES.clear()
        _fail(f"{failed} job(s) of the sweep failed, the others ran: job {shown}{more}")


def hydra_error_line(error: BaseException) -> str:
    """Hydra's several-line composition errors as one line: what failed, why, and the options."""
    lines = [line.strip() for line in str(error).splitlines()]
    if "Config search path:" in lines:
        lines = lines[: lines.index("Config search path:")]
    head, options = [], []
    for line in lines:
        if not line:
            continue
        if options or line.startswith("Available options"):
            if not line.endswith("_schema"):  # typed schemas are internal, not choices
                options.append(line)
        else:
            head.append(line.rstrip("."))
    cause = error.__cause__
    if cause is not None and str(cause).strip():
        head.insert(1, str(cause).strip().splitlines()[0])  # the why, before Hydra's hint
    text = "; ".join(head)
    if options:
        text += f" ({options[0].rstrip(':')}: {', '.join(options[1:])})"
    return text


# Hydra's own flags: those that take a value, and those that do not.
_FLAGS_WITH_VALUE = {"-c", "--cfg", "-p", "--package", "-cp", "--config-path", "-cn", "--config-name"}
_FLAGS_WITH_VALUE |= {"-cd", "--config-dir", "--experimental-rerun"}
_FLAGS = {"-m", "--multirun", "--resolve"}
_MOST_COMPOSITIONS = 64


def override_variants(argv: list[str]) -> list[list[str]] | None:
    """The overrides to compose for a check: one list without sweeps, or (under -m) one list per
    value of each sweep, the other sweeps at their first value. None: leave it all to Hydra (help,
    an unknown flag, a sweep Hydra must expand itself such as glob)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    plain, args = [], iter(argv)
    for arg in args:
        if arg in _FLAGS_WITH_VALUE:
            next(args, None)
        elif arg not in _FLAGS:
            if arg.startswith("-"):
                return None
            plain.append(arg)
    plain = [a for a in plain if not a.lstrip("+~").startswith("hydra")]  # Hydra checks its own
    try:
        parsed = OverridesParser.create().parse_overrides(plain)
        choices = [list(o.sweep_string_iterator()) if o.is_sweep_override() else None for o in parsed]
    except (HydraException, ValueError, TypeError):
        return [plain]  # composing says what is wrong with it, in Hydra's words
    base = [
        f"{o.get_key_element()}={values[0]}" if values else text
        for o, values, text in zip(parsed, choices, plain, strict=True)
    ]
    variants = [base]
    for index, values in enumerate(choices):
        for value in (values or [])[1:]:
            variants.append([*base[:index], f"{parsed[index].get_key_element()}={value}", *base[index + 1 :]])
    return variants[:_MOST_COMPOSITIONS]


def check_overrides(config_path: str, config_name: str, argv: list[str]) -> None:
    """Compose before Hydra does, so a bad override is one `plugmt: error:` line, exit 2.

    Hydra reports these itself in several lines with exit 1. Under -m (--multirun) each value of a
    sweep is composed once; --cfg and other flags of Hydra's are passed through to it.
    """
    variants = override_variants(argv)  # None for --help, --info and any flag it does not know
    for overrides in variants or []:
        try:
            compose_config(config_name, overrides, config_path)
        except PlugmtError as error:
            _fail(str(error))


def compose_config(config_name: str, overrides: Sequence[str] = (), config_path: str = CONFIG_PATH) -> Any:
    """The DictConfig a command composes from these overrides (`conf.schemas.register` first); a
    mistake is a PlugmtError in the command's one line. The commands, `plugmt.api` and the tests
    compose through this."""
    from hydra import compose, initialize_config_module
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    overrides = respell(list(overrides))
    try:
        with initialize_config_module(config_path.removeprefix("pkg://"), version_base="1.3"):
            try:
                return compose(config_name, overrides=overrides)
            except (HydraException, OmegaConfBaseException) as error:
                raise PlugmtError(
                    _rule_line(error, overrides, config_name) or hydra_error_line(error)
                ) from None
    except (HydraException, OmegaConfBaseException) as error:
        raise PlugmtError(hydra_error_line(error)) from None


def _rule_line(error: BaseException, overrides: list[str], app: str) -> str | None:
    """A value the typed schema refused, worded by its key's rule (`cli.checks`) as the same value
    would be after composing: `train.batch_size=abc: not a whole number (allowed: ...)`."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    from plugmt.cli.checks import rule_for

    cause = error if getattr(error, "full_key", None) else error.__cause__
    key = getattr(cause, "full_key", None)
    rule = rule_for(str(key), app) if key else None
    if rule is None:
        return None
    for text in reversed(overrides):
        try:
            override = OverridesParser.create().parse_override(text)
        except HydraException:
            continue
        if override.key_or_group == key:
            try:
                rule(str(key), override.value())
            except PlugmtError as refused:
                return str(refused)
    return None


def hydra_app(config_name: str, task: Callable[[Any], Any], config_path: str = CONFIG_PATH) -> None:
    """Run `task` as a Hydra app; the conf/ tree's apps get the architectures' typed schemas."""
    import hydra

    from plugmt.cli.runtime import print_version, quiet_tensorflow

    if "--version" in sys.argv[1:]:  # plugmt's, not Hydra's; before TensorFlow starts
        print_version(Path(sys.argv[0]).name)
        return
    architectures = config_path == CONFIG_PATH
    if not _answers_without_running(sys.argv[1:]):
        # Composing needs no TensorFlow (architectures' settings live apart from their layers), so
        # --help, --cfg and completion answer without it; a job starts it quietly, up front.
        quiet_tensorflow()
    logging.getLogger("datasets").setLevel(logging.WARNING)
    from plugmt.conf import schemas

    try:
        # The typed schemas composing needs; not the architectures for translate and export.
        schemas.register(architectures=architectures)
    except PlugmtError as error:
        _fail(str(error))
    try:
        sys.argv[1:] = respell(sys.argv[1:])
    except PlugmtError as error:
        _fail(str(error))
    if architectures and {"--help", "-h"} & set(sys.argv[1:]):
        sys.argv.append(f"hydra.help.app_name={Path(sys.argv[0]).name}")  # the usage line's name
    check_overrides(config_path, config_name, sys.argv[1:])
    hydra.main(version_base="1.3", config_path=config_path, config_name=config_name)(user_errors(task))()
    report_sweep_failures()


# Arguments Hydra answers itself (help, the composed config, completion): no task runs.
_ANSWERED_BY_HYDRA = {
    "--help",
    "-h",
    "--hydra-help",
    "--cfg",
    "-c",
    "--info",
    "-i",
    "--shell-completion",
    "-sc",
}


def _answers_without_running(argv: list[str]) -> bool:
    return any(arg.split("=", 1)[0] in _ANSWERED_BY_HYDRA for arg in argv)


def store_from(cfg: Any):
    from plugmt.cli.runtime import store_path
    from plugmt.storage import Store

    return Store(store_path(cfg.get("store")))


def translator_from(
    cfg: Any, beam_size: int, length_penalty: float, adapter: str | None = None, adapter_texts: Any = None
):
    """The store's encoder named by `encoder_id` (default newest), decoding as configured."""
    from plugmt.inference.translator import Translator

    return Translator.open(
        store_from(cfg),
        cfg.get("encoder_id"),
        bool(cfg.allow_foreign),
        int(beam_size),
        float(length_penalty),
        adapter,
        adapter_texts,
    )


def output_dir(configured: str | None) -> Path:
    from hydra.core.hydra_config import HydraConfig

    return Path(configured) if configured else Path(HydraConfig.get().runtime.output_dir)
