// Package backendtest is the conformance suite of the store port: Run
// checks every rule of backend.Store against a backend that a Harness
// opens, one subtest per rule, plus concurrent claimers and firers and a
// random history compared step by step with a reference model (Model).
// A backend is done when Run passes for it:
//
//	func TestConformance(t *testing.T) {
//		backendtest.Run(t, backendtest.Harness{Open: ..., Reopen: ...})
//	}
//
// The random history is seeded from BACKENDTEST_SEED (printed on failure,
// to replay it) and runs for BACKENDTEST_BUDGET (a duration; 2s unless
// set).
//
// # Decisions
//
// Where the port's doc comments leave a rule open, the suite decides by
// what the engine did before the port and by what a user of a job queue
// expects. Each decision below is checked by the suite:
//
//   - Time: every stamp comes from the call (InsertParams.Now,
//     ClaimParams.Now, Finish.At, Request.Now, the now of AddDependencies
//     and AddToGroup, Fire.Now), never from the store's clock, so that a
//     test controls it. Jobs released or canceled by a batch of finishes
//     are stamped with the latest At of the batch. The suite's times are
//     whole microseconds in UTC and compare by instant.
//   - Ids are canonical lower-case UUIDs, as the engine makes them; a
//     paging cursor that is not one is ErrInvalid. The suite's ids
//     increase in creation order, so newest first is id order.
//   - Insert: a dependency or group that is not stored (nor earlier in the
//     call) is ErrNotFound; "a pruned dependency counts as finished" holds
//     when a stored job is placed later (submit, resume, retry), not at
//     Insert. A stored job id or group id is ErrConflict. A job without
//     id or task, a dependency without id or with a policy other than
//     cancel or ignore, a job listing a dependency twice, a group without
//     id, and a call with neither jobs nor groups are ErrInvalid. The
//     sequential edge (cancel policy) is appended to the job's DependsOn
//     unless it already depends on the previous member. A failed
//     dependency under the cancel policy wins over an unfinished one. A
//     job canceled at once has FinishedAt = Now and no QueuedAt. Created
//     (held) jobs count in Counts and in their group's counts.
//   - Keys: the second of two jobs with one key in one call is answered
//     Existing with the first; an Existing entry is not checked further.
//     JobByKey of an unknown key is ErrNotFound.
//   - Claim: Limit below 1, an empty Owner or a negative quota is
//     ErrInvalid. A claim clears RunAt and Progress (the previous
//     attempt's), keeps Error (the previous attempt's, until this one
//     ends), and answers the jobs in claim order.
//   - Finish: an empty id or owner, or a State other than completed,
//     failed, canceled or queued, is ErrInvalid and refuses the batch. An
//     unknown job is skipped like any failed guard. Every end clears Owner
//     and CancelRequested and closes the last attempt record (FinishedAt =
//     At, Error = f.Error); f.Progress, when given, is stored, and a
//     completion makes the progress whole (fraction 1, as the engine did).
//     A cancel requested before the finish wins over a retry or a failure
//     (the job ends canceled with the request's error), not over a
//     completion. A retry stamps QueuedAt = At and RunAt = RetryAt; of a
//     job paused while running it stays paused, with PausedFrom queued.
//     Changes.Jobs holds each changed job once, the finished ones first.
//   - Requests follow model.Transition: cancel of a finished job, pause of
//     a paused, created or finished one, resume of one not paused, retry of
//     one not failed or canceled, submit of one not created, are ErrState.
//     Cancel without Why records kind canceled ("canceled by request").
//     Cancel of a running job marks it and answers its Owner; asking again
//     is not an error. Resume and retry place the job as Insert does (a
//     resume or retry whose dependency is still failed cancels it at
//     once). Retry clears Error, Result, RunAt and FinishedAt, sets
//     AttemptBase = Attempt, and re-arms (transitively) the dependents
//     whose error names it. RequestResult.Changes may or may not list the
//     target itself.
//   - Cascades: when a job ends, its dependents that are neither created
//     nor finished are canceled (dependency_failed, "dependency X ended
//     STATE") if the edge's policy is cancel and it did not complete, a
//     running one is asked to stop (CancelRequested, in Changes.Stop);
//     waiting ones whose last dependency finished become queued. Then, if
//     it failed in a cancel-on-failure group, every other unfinished member
//     is canceled ("canceled: group member X failed", kind canceled), or
//     asked to stop if running. A job paused while waiting stays paused
//     when its dependencies finish; resume places it.
//   - AddDependencies accepts created, waiting and queued jobs (else
//     ErrState); a dependency on itself or listed twice is ErrInvalid, one
//     already present or one that closes a cycle is ErrConflict (cycles
//     are looked for along every stored edge, finished jobs included,
//     since a retry revives them). A waiting or queued job is placed
//     again: canceled at once if a new dependency failed, waiting if one
//     is unfinished.
//   - AddToGroup accepts created jobs not in a group (else ErrState, as
//     the engine always refused others), in the order given, all or none;
//     a sequential group's edge that closes a cycle is ErrConflict; a done
//     group is reopened.
//   - Groups keep Size and Counts when members are pruned; Members no
//     longer lists them. A group is deleted by Prune when it is done, has
//     no member left and no schedule's template names it. A sequential
//     group whose last member was pruned (the group stays while an earlier
//     member is unfinished or a schedule names it) keeps it as Last: the
//     next member records the edge to it in DependsOn and counts it as
//     completed, and Dependents of the pruned job stays empty.
//   - Fire: a job with dependencies sets the schedule's Waiting (a run
//     queued behind an unfinished one); At zero is ErrInvalid; an insert
//     error fails the firing and changes nothing.
//   - Prune takes the oldest first, by FinishedAt then id; limit below 1
//     is ErrInvalid.
//   - Delete is all or none: ids are checked in the order given, the
//     first unknown one (ErrNotFound) or unfinished one (ErrState, naming
//     its state) refusing the call; no ids, an empty id, an id given
//     twice, more than MaxLimit ids are ErrInvalid. A deleted job goes as
//     a pruned one does (key, edges, membership, Counts; a done group left
//     empty goes unless a schedule names it; groups keep Size, Counts and
//     Last); it changes no other job, and its dependents count it as
//     completed when placed later (submit, resume, retry). Delete answers
//     the ids given, in that order.
//   - Purge selects finished jobs by state (none: all three), task and
//     FinishedBefore (strictly before), oldest first as Prune, at most
//     Limit (1..MaxLimit, else ErrInvalid, as is a state not finished).
//   - Reads: an empty id is ErrInvalid, an unknown one ErrNotFound
//     (Dependents of an unknown job is empty); ListJobs of an unknown group
//     is ErrNotFound; an unknown state or priority, a label filter without
//     key, a limit outside 0..MaxLimit are ErrInvalid. A page's cursor is
//     "" when no job follows it. Running and Schedules answer in id order,
//     Dependents in dependent id order, Members in add order.
//   - Hosts: Heartbeat stores Seen = now and Expires = now + ttl,
//     whatever the caller sent in them and in Leader. A host is alive
//     strictly before its Expires, a lease is held strictly before its
//     expiry: at that instant another owner may take it. Hosts lists
//     expired registrations until PruneHosts takes them (Expires strictly
//     before its time). Leave of an owner not registered is not an
//     error. The lease does not depend on the registry (an owner not
//     registered may lead). Neither is checked across a reopen: the
//     bbolt store keeps both in memory (the random history has every
//     host leave first). The random history heartbeats, leaves, prunes
//     hosts and runs a leader's rescue: Lead, then Running with the
//     owners alive at now, each ended as interrupted.
//   - Changed may be signalled more often than needed; the suite checks
//     only that it is signalled when it must be.
//   - Comparisons: JSON by value, nil and empty alike, zero counts as
//     absent. Of a job canceled in a cascade where two causes end in one
//     transaction, the random history accepts any of the causes.
package backendtest
