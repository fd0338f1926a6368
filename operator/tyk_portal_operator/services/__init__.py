"""The imperative shell: gather inputs, call the pure core, apply the result."""
