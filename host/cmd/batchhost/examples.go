package main

import (
	"strings"

	"github.com/spf13/cobra"
)

// examples are the Examples sections of the commands' help, by command
// path: kept together so that they read as one consistent set. Paths in
// job args are absolute: the plugins run in the daemon's directory.
var examples = map[string]string{
	"serve": `  batchhost serve                                   # data in ~/.local/state/batchhost
  batchhost serve --max-workers 4 --limit docs.extract=2 --kill-grace 10s
  batchhost serve --rate docs.ocr=10/s --rate exec=600/m:20
  batchhost serve --exec-allow convert,/usr/bin/pdftotext --exec-allow-env MAGICK_*`,
	"submit": `  batchhost submit docs.analyze --args "{\"path\":\"$PWD/report.pdf\"}"
  batchhost submit chaos.sleep --args '{"ms":500}' --priority high --wait
  batchhost submit exec.run --args '{"argv":["make","-C","/srv/site"]}' --timeout 10m --max-attempts 1
  batchhost submit --batch jobs.jsonl                # one JSON spec a line, all or none`,
	"create": `  a=$(batchhost create docs.extract --args "{\"path\":\"$PWD/a.pdf\"}")
  b=$(batchhost create docs.analyze --args "{\"path\":\"$PWD/a.pdf\"}" --after "$a")
  batchhost enqueue "$a" "$b"`,
	"enqueue": `  batchhost enqueue "$a" "$b"`,
	"get": `  batchhost get 0190f1c2-7d3a-7c4e-9f10-2b3c4d5e6f70
  batchhost get --json "$id" | jq .error`,
	"list": `  batchhost list                                    # newest 100
  batchhost list --state failed,canceled --task docs.extract
  batchhost list --json --limit 1000 --before "$cursor"`,
	"result": `  batchhost result "$id" | jq .keywords`,
	"logs": `  batchhost logs "$id"
  batchhost logs --follow "$id"`,
	"wait": `  batchhost wait "$id"                              # exit 0 completed, 1 failed or canceled
  batchhost wait --timeout 5m "$a" "$b"`,
	"pause":  `  batchhost pause "$id"`,
	"resume": `  batchhost resume "$id"`,
	"retry":  `  batchhost list --state failed --json | jq -r '.[].id' | xargs batchhost retry`,
	"delete": `  batchhost delete "$id"
  batchhost list --state canceled --task chaos.sleep --json | jq -r '.[].id' | xargs batchhost delete`,
	"purge": `  batchhost purge --state failed,canceled --older-than 24h
  batchhost purge --state completed --task docs.analyze`,
	"group": `  g=$(batchhost group create nightly --sequential --cancel-on-failure)
  batchhost submit chaos.echo --args '{"n":1}' --group "$g"
  batchhost group wait "$g"`,
	"group create": `  batchhost group create nightly --sequential --cancel-on-failure`,
	"group wait":   `  batchhost group wait --timeout 1h "$g"`,
	"schedule": `  batchhost schedule add nightly --cron "0 3 * * *" --tz Europe/Berlin docs.analyze --args "{\"path\":\"$PWD/notes.md\"}"
  batchhost schedule list
  batchhost schedule trigger nightly`,
	"schedule add": `  batchhost schedule add nightly --cron "0 3 * * *" --tz Europe/Berlin docs.analyze --args "{\"path\":\"$PWD/notes.md\"}"
  batchhost schedule add tick --cron "@every 15m" chaos.noop --overlap skip --jitter 30s`,
	"tasks": `  batchhost tasks
  batchhost tasks --json | jq -r '.[].name'`,
	"stats":    `  batchhost stats --json | jq .counts.queued`,
	"dispatch": `  batchhost dispatch pause && batchhost dispatch resume`,
	"plugins": `  batchhost plugins
  batchhost plugins --json | jq -r '.[] | "\(.plugin) \(.version) \(.processes)"'`,
	"plugins reload": `  go build -o "$BATCHHOST/bin/plugins/batchhost-plugin-wordfreq" . && batchhost plugins reload
  kill -HUP "$serve_pid"            # the same: SIGHUP to batchhost serve`,
	"bench": `  batchhost bench                                   # 5 rounds of each measure
  batchhost bench --rounds 1 --jobs 2000            # a few seconds
  batchhost bench --no-sync --workers 16`,
	"check": `  batchhost check --data-dir /var/lib/batchhost      # with its host stopped
  batchhost check --json | jq -r '.damaged[] | "\(.bucket) \(.key): \(.problem)"'`,
	"completion": `  source <(batchhost completion bash)               # in ~/.bashrc
  batchhost completion zsh > "${fpath[1]}/_batchhost"
  batchhost completion fish > ~/.config/fish/completions/batchhost.fish`,
}

// addExamples sets each command's Examples section from examples, leaving
// a command that has its own.
func addExamples(root *cobra.Command) {
	var walk func(*cobra.Command)
	walk = func(cmd *cobra.Command) {
		path := strings.TrimPrefix(strings.TrimPrefix(cmd.CommandPath(), root.Name()), " ")
		if ex, ok := examples[path]; ok && cmd.Example == "" {
			cmd.Example = ex
		}
		for _, sub := range cmd.Commands() {
			walk(sub)
		}
	}
	walk(root)
}
