"""Checkpoint and output files: the safetensors format (`format`), lazy validated reading
(`reader`), header-first streamed writing (`writer`), loadable model directories
(`hf_dir`) and atomic writes (`atomic`)."""
