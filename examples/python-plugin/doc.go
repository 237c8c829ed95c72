// Package pythonplugin holds the Go integration tests and benchmarks of
// Python task plugins: the textstats example beside this file and the
// pychaos test plugin (testdata), both written with the Python SDK in
// sdk/python, run as real processes by a real host, exactly as Go plugins
// are. The tests need Debian's python3-grpcio and python3-protobuf for
// /usr/bin/python3 (scripts/test.sh installs them); without them they fail
// rather than skip.
package pythonplugin
