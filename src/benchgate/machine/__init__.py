"""The machine: CPU selection and pinning, the environment record, the doctor's checks."""
