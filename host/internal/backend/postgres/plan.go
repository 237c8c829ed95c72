package postgres

import "github.com/jackc/pgx/v5"

// manyValues is the array length from which a statement is planned for
// its values instead of taking its connection's cached generic plan.
//
// A generic plan is made once, for whatever the table looked like then:
// on a table that looked empty it is a sequential scan, and a scan with
// an array parameter compares every row with every element. With 20,500
// jobs stored, looking up the 20,000 ids of one SubmitMany that way took
// 5.5 s of server time (and the statement timeout in one bench run).
// Planned for its values, the array is a constant: it is hashed or its
// ids are probed in the index. Short arrays keep the cached plan, which
// spares a planning at every finish.
const manyValues = 64

// forValues answers a statement's arguments, led by the mode that plans
// it for its values (an unnamed statement, planned at each execution)
// when its array holds n values or more. forValues(manyValues, …) always
// does: the one lookup of each insert (storedOf), whose cached plan, made
// while the table was new, scanned the whole table for one id.
func forValues(n int, args ...any) []any {
	if n < manyValues {
		return args
	}
	return append([]any{pgx.QueryExecModeDescribeExec}, args...)
}
