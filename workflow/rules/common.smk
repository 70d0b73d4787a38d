# Shared set-up for all rules: config validation, the experiment manifest, helpers that turn config into params,
# and the code fingerprints that make results depend on the library code that produced them.
import os
import sys

from snakemake.exceptions import WorkflowError
from snakemake.io import strip_wildcard_constraints

from superposition.config import ConfigError
from superposition.manifest import MANIFEST_FILE, load_manifest
from superposition.provenance import code_fingerprint, notebook_fingerprint
from superposition.recovery import recover_interrupted_run
from superposition.timings import benchmark_path
from superposition.workflow_config import load_workflow_config

# Shell and script jobs use this interpreter's environment (papermill, nbconvert live in the venv).
os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")

CONFIG_SCHEMA = "workflow/schemas/config.schema.yaml"
try:
    MANIFEST = load_manifest(workflow.basedir + "/" + MANIFEST_FILE)
    # Validates the merged config (config.yaml + any --configfile/--config) against the stored JSON schema and
    # the cross-section checks; each error names its key(s) and what is allowed.
    WORKFLOW_CONFIG = load_workflow_config(config, workflow.basedir + "/" + CONFIG_SCHEMA,
                                           workflow.basedir + "/" + MANIFEST_FILE)
except ConfigError as error:
    raise WorkflowError(str(error)) from None

# A run killed outright (kill -9, OOM, power loss) leaves Snakemake's locks and its jobs' temporaries behind; the
# same command clears them when no other run of this workflow is alive (superposition.recovery). Cluster job
# steps parse this file too; only the main process recovers.
if workflow.is_main_process:
    _RECOVERY = recover_interrupted_run(".", ("results", "data"))
    if _RECOVERY.alive or _RECOVERY.stale_locks or _RECOVERY.stale_temporaries:
        print(f"superposition: {_RECOVERY.summary()}", file=sys.stderr)


# Threads for jobs that use every core they get: Snakemake scales a job's threads down to --cores (unlike
# `workflow.cores`, this also works where no core count is set, as in `snakemake --report`).
ALL_CORES = 1024


def _sorted_keys(value):
    if isinstance(value, dict):
        return {key: _sorted_keys(value[key]) for key in sorted(value)}
    if isinstance(value, list):  # lists of dicts too (feature_sparsity.layers.models)
        return [_sorted_keys(item) for item in value]
    return value


def experiment_config(experiment, section):
    """A section of an experiment's config as a Snakemake param: a change of value reruns the job.

    Keys are sorted because Snakemake compares params including key order, and merging --configfile overrides
    can reorder keys without changing any value.
    """
    return _sorted_keys(config[experiment][section])


def stage_config(stage):
    """A stage's whole config section as a Snakemake param (keys sorted, as in experiment_config)."""
    return _sorted_keys(config[stage])


def model_registry(*names):
    """The lm.models entries of ``names`` and of the models whose tokenizers they borrow, as a param: a rule
    that loads a model reruns when its source changes, and only then."""
    models = config["lm"]["models"]
    chosen = {}
    for name in names:
        chosen[name] = models[name]
        if models[name].get("tokenizer_model"):
            chosen[models[name]["tokenizer_model"]] = models[models[name]["tokenizer_model"]]
    return _sorted_keys(chosen)


def report_outputs(experiment):
    """The report rule's outputs of a manifest experiment: executed notebook, HTML report and every figure, each
    figure in the Snakemake report with its caption from the manifest."""
    entry = MANIFEST.stage(experiment)
    html = report(f"{entry.results_dir}/report.html", caption="../report/experiment.rst", category=experiment)
    figures = [report(entry.figure_path(name), category=experiment, subcategory="figures",
                      labels={"figure": name, "caption": caption}) for name, caption in entry.figures.items()]
    return {"notebook": f"{entry.results_dir}/{experiment}.ipynb", "html": html, "figures": figures}


def report_code(experiment):
    """The code fingerprint of an experiment's report: every library module its notebook imports, and the
    renderer. Editing a plotting or table function reruns exactly the reports that call it."""
    return notebook_fingerprint(f"{workflow.basedir}/notebooks/{experiment}.ipynb", "superposition.reporting")


wildcard_constraints:
    experiment="[a-z_]+",


def rule_stage(job_rule):
    """The manifest stage a rule belongs to: its rule file's name (workflow/rules/<stage>.smk)."""
    return os.path.splitext(os.path.basename(job_rule.snakefile))[0]


def benchmark_every_rule():
    """Give every rule that runs a job (it has a log) a benchmark file beside its logs, unless it names one:
    logs/<stage>/benchmarks/<rule>[.<wildcards>].tsv. Called once after every rule file is included; returns
    rule name -> {"stage", "benchmark"} for the timings table (results/timings.tsv)."""
    benchmarks = {}
    for job_rule in workflow.rules:
        if not job_rule.log:
            continue  # target rules run nothing
        if not job_rule.benchmark:
            job_rule.benchmark_modifier = job_rule.log_modifier  # paths are modified as the log's are
            job_rule.benchmark = benchmark_path(str(job_rule.log[0]), job_rule.name, sorted(job_rule.wildcard_names))
        pattern = strip_wildcard_constraints(str(job_rule.benchmark))
        benchmarks[job_rule.name] = {"stage": rule_stage(job_rule), "benchmark": pattern}
    return dict(sorted(benchmarks.items()))


# Offline formulas in every report: MathJax 2 from Debian's libjs-mathjax (unpacked by `make setup`), copied into
# results/ so that reports and the results site load nothing from outside it (superposition.reporting). Report
# rules take `mathjax=MATHJAX` as an input. A rule of this file: every DVC stage may run it.
MATHJAX_SOURCE = "data/external/mathjax/usr/share/javascript/mathjax"
MATHJAX = "results/_static/mathjax"


rule report_mathjax:
    input:
        source=MATHJAX_SOURCE,
    output:
        mathjax=directory(MATHJAX),
    params:
        code=code_fingerprint("superposition.reporting"),
    resources:
        mem_mb=4000,
        runtime=30,
    log:
        "logs/common/mathjax.log",
    script:
        "../scripts/report_mathjax.py"
