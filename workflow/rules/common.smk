# Shared set-up for all rules: config validation, helpers that turn config into params, and the code
# fingerprints that make results depend on the library code that produced them.
import os
import sys

from snakemake.exceptions import WorkflowError

from superposition.config import ConfigError
from superposition.provenance import code_fingerprint
from superposition.workflow_config import load_workflow_config

# Shell and script jobs use this interpreter's environment (papermill, nbconvert live in the venv).
os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")

CONFIG_SCHEMA = "workflow/schemas/config.schema.yaml"
try:
    # Validates the merged config (config.yaml + any --configfile/--config) against the stored JSON schema;
    # each error names its key and the allowed values.
    WORKFLOW_CONFIG = load_workflow_config(config, workflow.basedir + "/" + CONFIG_SCHEMA)
except ConfigError as error:
    raise WorkflowError(str(error)) from None


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


wildcard_constraints:
    experiment="[a-z_]+",
