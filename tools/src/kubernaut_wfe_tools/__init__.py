"""Development tools of kubernaut-wfe (never in the image): the API emulator, the Tekton
simulator, the sandbox, offline validation and the support the tests and benchmarks share."""
