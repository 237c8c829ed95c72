package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unsafe"

	bolt "go.etcd.io/bbolt"

	"github.com/batchhost/batchhost/host"
)

// flipInJobRecords flips n bytes inside the stored record of each of ids
// (the case of letters inside its JSON: a change JSON alone would not
// show), as a bad disk would. It finds each record through bbolt's
// mapping of the file, not by searching the file, whose free pages hold
// stale copies of records.
func flipInJobRecords(t *testing.T, path string, ids []string, n int) {
	t.Helper()
	type at struct{ off, len int }
	var spots []at
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	base := db.Info().Data
	err = db.View(func(tx *bolt.Tx) error {
		for _, id := range ids {
			v := tx.Bucket([]byte("jobs")).Get([]byte(id))
			if v == nil {
				t.Fatalf("no record of job %s", id)
			}
			spots = append(spots, at{int(uintptr(unsafe.Pointer(&v[0])) - base), len(v)})
		}
		return nil
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range spots {
		flipped := 0
		for i := s.off + 8; i < s.off+s.len && flipped < n; i += 11 {
			if c := data[i] | 0x20; c >= 'a' && c <= 'z' {
				data[i] ^= 0x20
				flipped++
			}
		}
		if flipped < n {
			t.Fatalf("record at %d: only %d letters to flip", s.off, flipped)
		}
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func fileSum(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// runBin runs the built batchhost binary and returns its exit code and
// output.
func runBin(t *testing.T, args ...string) result {
	t.Helper()
	cmd := exec.Command(batchhostBin, args...)
	cmd.Env = []string{"HOME=" + t.TempDir()}
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	r := result{code: cmd.ProcessState.ExitCode(), stdout: out.String(), stderr: errb.String()}
	checkStderr(t, r)
	return r
}

// TestCheckNamesEveryDamagedRecordWithoutWriting is issue 15's probe: 40
// bytes flipped inside 8 job records of a real data dir. `batchhost
// check` (the real binary) names exactly those 8 and exits 1, in text and
// in JSON, and leaves the file's bytes as they were; it refuses, naming
// the fix, while a host holds the file. The host opens the file: a get of
// a damaged job says so, in one line naming it, and a list shows the
// others.
func TestCheckNamesEveryDamagedRecordWithoutWriting(t *testing.T) {
	ctx := ctxT(t)
	dir := t.TempDir()
	h, err := host.Open(host.Config{DataDir: dir, PluginDir: pluginDir})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Start(ctx); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range 4 {
		id, err := h.Submit(ctx, host.JobSpec{Task: "chaos.echo", Args: map[string]any{"n": i, "note": "quarterly report"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.Wait(ctx, id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	for i := range 20 {
		id, err := h.Create(ctx, host.JobSpec{Task: "chaos.echo", Args: map[string]any{"n": i, "note": "held for later"}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "batchhost.db")

	if r := runBin(t, "--data-dir", dir, "check"); r.code != 0 || !strings.Contains(r.stdout, "24 jobs") || !strings.Contains(r.stdout, "0 damaged") {
		t.Fatalf("check of a sound file: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	damaged := []string{ids[0], ids[3], ids[5], ids[8], ids[13], ids[17], ids[22], ids[23]}
	flipInJobRecords(t, path, damaged, 5)
	before := fileSum(t, path)

	r := runBin(t, "--data-dir", dir, "check")
	if r.code != 1 {
		t.Fatalf("check: exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
	}
	var named []string
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		if id, ok := strings.CutPrefix(l, "jobs "); ok {
			id, problem, _ := strings.Cut(id, ": ")
			if problem != "checksum mismatch" {
				t.Errorf("job %s: problem %q, want checksum mismatch", id, problem)
			}
			named = append(named, id)
		}
	}
	slices.Sort(named)
	want := slices.Sorted(slices.Values(damaged))
	if !slices.Equal(named, want) {
		t.Errorf("check named %v, want %v\n%s", named, want, r.stdout)
	}
	if !strings.Contains(r.stdout, "8 damaged") || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "8 damaged records") {
		t.Errorf("check's summary:\n%s%s", r.stdout, r.stderr)
	}

	r = runBin(t, "--data-dir", dir, "check", "--json")
	if r.code != 1 {
		t.Fatalf("check --json: exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
	}
	var rep host.CheckReport
	decode(t, r.stdout, &rep)
	named = nil
	for _, d := range rep.Damaged {
		if d.Bucket == "jobs" && d.Problem == "checksum mismatch" {
			named = append(named, d.Key)
		} else {
			t.Errorf("unexpected damage %+v", d)
		}
	}
	slices.Sort(named)
	if !slices.Equal(named, want) || rep.Records["jobs"] != 24 || rep.Schema != 3 || rep.Path != path {
		t.Errorf("check --json: %+v", rep)
	}
	if r := runBin(t, "--data-dir", dir, "check", "extra"); r.code != 2 {
		t.Errorf("check with an argument: exit %d, want 2\n%s", r.code, r.stderr)
	}
	if fileSum(t, path) != before {
		t.Fatal("check changed the data file")
	}

	// The host opens the damaged file and serves the rest.
	d := startDaemon(t, func(c *host.Config) { c.DataDir = dir })
	r = runBin(t, "--data-dir", dir, "check")
	if r.code != 1 || !strings.Contains(r.stderr, "in use by a running batchhost host: stop it") {
		t.Errorf("check while a host holds the file: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, id := range damaged {
		res := d.fails(t, 1, id, "get", id)
		for _, w := range []string{"damaged", "checksum mismatch"} {
			if !strings.Contains(res.stderr, w) {
				t.Errorf("get %s: %q does not say %q", id, res.stderr, w)
			}
		}
		if _, err := d.h.Get(context.Background(), id); !errors.Is(err, host.ErrDamaged) {
			t.Errorf("Get %s: %v, want ErrDamaged", id, err)
		}
	}
	var listed []map[string]any
	decode(t, d.ok(t, "list", "--json"), &listed)
	var got []string
	for _, j := range listed {
		got = append(got, j["id"].(string))
	}
	slices.Sort(got)
	var healthy []string
	for _, id := range ids {
		if !slices.Contains(damaged, id) {
			healthy = append(healthy, id)
		}
	}
	slices.Sort(healthy)
	if !slices.Equal(got, healthy) {
		t.Errorf("list: %d jobs %v, want the %d healthy ones", len(got), got, len(healthy))
	}

	// stats counts what lists show, by state, and the damaged apart.
	var st host.Stats
	decode(t, d.ok(t, "--json", "stats"), &st)
	for _, state := range []host.State{host.StateCompleted, host.StateCreated} {
		var inState []map[string]any
		decode(t, d.ok(t, "list", "--json", "--state", string(state)), &inState)
		if st.Counts[state] != len(inState) {
			t.Errorf("stats counts %d %s jobs, list shows %d", st.Counts[state], state, len(inState))
		}
	}
	if st.Counts[host.StateCompleted] != 2 || st.Counts[host.StateCreated] != 14 || st.DamagedJobs != 8 {
		t.Errorf("stats --json: %+v; want 2 completed, 14 created, 8 damaged", st)
	}
	if out := d.ok(t, "stats"); !strings.Contains(out, "completed 2  ") ||
		!strings.Contains(out, "\ndamaged    8 job records, not counted above (batchhost check lists them with the host stopped; batchhost delete ID removes one)\n") {
		t.Errorf("stats:\n%s", out)
	}
}

// TestDeleteClearsDamagedRecords: with 3 of 6 job records damaged (a
// completed job, a created one with a key, a created one another depends
// on), `delete` of the damaged ones (by id prefix too) removes them and
// says, for each, that its record was damaged and what is lost; check
// named that command. A purge passes the damaged record left over. stats
// then counts as list does, with 1 damaged; after the host stops, check
// finds that 1 record and no index entry naming a record that is gone.
func TestDeleteClearsDamagedRecords(t *testing.T) {
	ctx := ctxT(t)
	dir := t.TempDir()
	h, err := host.Open(host.Config{DataDir: dir, PluginDir: pluginDir})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Start(ctx); err != nil {
		t.Fatal(err)
	}
	var done []string
	for i := range 2 {
		id, err := h.Submit(ctx, host.JobSpec{Task: "chaos.echo", Args: map[string]any{"n": i, "note": "quarterly report"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.Wait(ctx, id); err != nil {
			t.Fatal(err)
		}
		done = append(done, id)
	}
	keyed, err := h.Create(ctx, host.JobSpec{Task: "chaos.echo", Key: "monthly-close", Args: map[string]any{"note": "held for later"}})
	if err != nil {
		t.Fatal(err)
	}
	dep, err := h.Create(ctx, host.JobSpec{Task: "chaos.echo", Args: map[string]any{"note": "the first of two"}})
	if err != nil {
		t.Fatal(err)
	}
	after, err := h.Create(ctx, host.JobSpec{Task: "chaos.echo", Args: map[string]any{"note": "the second"}, DependsOn: []host.Dep{{Job: dep}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "batchhost.db")
	damaged := []string{done[0], keyed, dep}
	flipInJobRecords(t, path, append(slices.Clone(damaged), done[1]), 3)
	// done[1] is damaged too: left for the purge to pass over.
	r := runBin(t, "--data-dir", dir, "check")
	if r.code != 1 || !strings.Contains(r.stderr, "remove a damaged job record with: batchhost delete ID") {
		t.Fatalf("check does not name the way out: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	d := startDaemon(t, func(c *host.Config) { c.DataDir = dir })
	if st, err := d.h.Stats(ctx); err != nil || st.DamagedJobs != 4 {
		t.Fatalf("stats before: %+v, %v; want 4 damaged", st, err)
	}
	// All or none: with a job that is not finished, nothing is deleted.
	d.fails(t, 1, "is created, not finished", "delete", damaged[0], after)
	// A prefix past the id's millisecond part (its first 13 characters,
	// which jobs made in one millisecond share) names one job.
	out := d.ok(t, "delete", damaged[0], damaged[1][:23], damaged[2])
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("delete:\n%s", out)
	}
	for i, l := range lines {
		want := damaged[i] + "  deleted; its record was damaged (checksum mismatch): its task, args, state, result and attempts could not be read and are lost"
		if l != want {
			t.Errorf("delete line %d:\n%q\nwant\n%q", i, l, want)
		}
	}
	for _, id := range damaged {
		d.fails(t, 1, "not found", "get", id)
	}
	if out := d.ok(t, "purge", "--state", "completed"); out != "deleted 0 completed jobs\n" {
		t.Errorf("purge past a damaged record: %q", out)
	}
	var st host.Stats
	decode(t, d.ok(t, "--json", "stats"), &st)
	for _, state := range []host.State{host.StateCompleted, host.StateCreated} {
		var inState []map[string]any
		decode(t, d.ok(t, "list", "--json", "--state", string(state)), &inState)
		if st.Counts[state] != len(inState) {
			t.Errorf("stats counts %d %s jobs, list shows %d", st.Counts[state], state, len(inState))
		}
	}
	if st.DamagedJobs != 1 || st.Counts[host.StateCreated] != 1 || st.Counts[host.StateCompleted] != 0 {
		t.Errorf("stats after the delete: %+v; want 1 damaged, 1 created", st)
	}
	// The key is free again.
	if id := id(t, d.ok(t, "create", "chaos.echo", "--key", "monthly-close")); id == keyed {
		t.Errorf("the deleted job's key still names it")
	}
	if err := d.h.Close(); err != nil {
		t.Fatal(err)
	}
	r = runBin(t, "--data-dir", dir, "check", "--json")
	var rep host.CheckReport
	decode(t, r.stdout, &rep)
	if len(rep.Damaged) != 1 || rep.Damaged[0].Bucket != "jobs" || rep.Damaged[0].Key != done[1] {
		t.Errorf("check after the delete: %+v, want only job %s damaged", rep.Damaged, done[1])
	}
}
