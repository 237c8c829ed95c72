package exec

import "github.com/batchhost/batchhost/sdk"

// Version is the exec plugin's version.
const Version = "1.0.0"

// Plugin returns the exec plugin.
func Plugin() sdk.Plugin {
	return sdk.Plugin{
		Name:    "exec",
		Version: Version,
		Tasks: []sdk.Task{
			sdk.NewTask("run", `Runs {"argv"} without a shell (in {"dir"}, with {"env"} and {"stdin"}), logging its output lines; non-zero exit fails`, utf8Safe(run)),
		},
	}
}
