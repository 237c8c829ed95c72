// Package docs is batchhost's first-party document plugin: the background
// work of a document organizer, as tasks. Its binary is
// cmd/batchhost-plugin-docs (plugin "docs").
//
// Tasks, with their args and results (the Go types of this package are
// the same JSON):
//
//   - docs.inspect {"path"} → {"path", "size", "sha256", "media_type",
//     "modified"}. The media type comes from the content (net/http's
//     sniffing); zip archives are looked into to name .docx, .xlsx, .pptx
//     and OpenDocument files; content that sniffs as plain text is refined
//     by extension (.md → text/markdown, .csv → text/csv, .json → ...).
//   - docs.extract {"path", "max_chars"?} → {"text", "format", "chars",
//     "truncated"}. Formats: .txt (and .text, .log), .md (kept as written),
//     .html/.htm (tags stripped, scripts and styles dropped, entities
//     decoded), .csv (cells joined by tabs, rows by newlines), .json (its
//     string values), .docx (word/document.xml), .odt (content.xml), .pdf
//     (text of the pages, with github.com/ledongthuc/pdf). Text files may
//     be UTF-8, UTF-16 with a byte order mark, or Windows-1252.
//   - docs.analyze {"path"} → {"format", "words", "lines", "characters",
//     "top_keywords": [{"word", "count"}], "language", "reading_time_seconds"}.
//   - docs.categorize {"path", "rules" | "rules_file"} → {"category",
//     "score", "matched"}; see Rules.
//   - docs.organize {"path", "dest", "rules" | "rules_file", "mode",
//     "dry_run"} → {"category", "destination", "action"}: files the
//     document into <dest>/<category>/<name>, never overwriting.
//
// # Errors
//
// A missing file, a directory, anything but a regular file, or a file
// that cannot be opened is invalid_args naming the path. A format docs does
// not read, a file whose content contradicts its extension (a binary named
// .txt) and a broken document are unsupported_format. Neither is retried.
// An I/O error while reading is a plain (retryable) error.
//
// # Caveats
//
//   - Paths (path, dest, rules_file) must be absolute: the plugin's
//     working directory is the host's, not the submitter's, so a relative
//     path is refused as invalid_args naming it. Paths travel in JSON,
//     which holds UTF-8 only: a file whose name is not UTF-8 cannot be
//     named.
//   - Extraction holds the document in memory and refuses files over
//     256 MiB; inspect streams and has no limit.
//   - extract returns at most max_chars characters (200000 by default), as
//     the host caps a job's result (1 MiB by default); chars counts them all.
//   - Large files report progress every 4 MiB read; every task stops
//     reading when its ctx ends.
//   - organize is idempotent on retry, the host's at-least-once execution
//     in mind: the destination appears whole or not at all (a synced
//     temporary file, then a hard link or a non-replacing rename); a name
//     holding identical content (SHA-256) counts as already filed instead
//     of taking the next name-N.ext; and a move first journals its
//     destination under <dest>/.batchhost/organize/, so that a retry that
//     finds the source gone confirms the move. Journal entries are pruned
//     after seven days. Moves across filesystems copy, then remove the
//     source. A document no rule matches goes to the rules' default
//     category; one docs cannot read fails with unsupported_format and is
//     not moved.
package docs
