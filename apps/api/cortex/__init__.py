"""The Cortex-compatible v1 API: the operations `cortexapps-cli` 1.52.0 uses (API_CONTRACT §2)."""
