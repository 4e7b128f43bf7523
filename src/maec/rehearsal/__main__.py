"""python -m maec.rehearsal OUT_DIR [--data DIR] [--config-dir DIR]: the rehearsal's inputs."""

import argparse
import logging

from maec.rehearsal import write_rehearsal

parser = argparse.ArgumentParser(prog="python -m maec.rehearsal", description=__doc__)
parser.add_argument("out_dir", help="where inputs/, config.yaml and config-tied.yaml go")
parser.add_argument("--data", default="../shared/data", help="FLORES, GSM8K, MGSM, Okapi copies")
parser.add_argument("--config-dir", default="config", help="the repository's config/")
args = parser.parse_args()
logging.basicConfig(level=logging.INFO, format="%(message)s")
for path in write_rehearsal(args.out_dir, args.data, args.config_dir).values():
    logging.info("wrote %s", path)
