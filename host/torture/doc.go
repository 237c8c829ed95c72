// Package torture holds the crash torture test of the daemon: a real
// "batchhost serve" on one data directory, SIGKILLed at random moments
// under mixed load and restarted, with the queue's invariants checked
// after each restart and at the end. It has no code of its own; the test
// is in torture_test.go and runs in "go test ./...".
//
//	go test ./host/torture -run TestTorture -v                     # 20 kills
//	go test ./host/torture -run TestTorture -v -torture.kills 200 -timeout 60m
//	go test ./host/torture -run TestTorture -v -torture.seed 42    # replay a seed's choices (not its timing)
package torture
