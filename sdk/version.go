package sdk

import (
	"runtime/debug"
	"sync"
)

const modulePath = "github.com/batchhost/batchhost"

// sdkVersion is the version of this module linked into the plugin, read
// from the binary's build information and sent in Describe for diagnostics
// ("which SDK was this plugin built with?"). "(devel)" inside this module.
var sdkVersion = sync.OnceValue(func() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	if bi.Main.Path == modulePath {
		return bi.Main.Version
	}
	for _, d := range bi.Deps {
		if d.Path == modulePath {
			if d.Replace != nil && d.Replace.Version != "" {
				return d.Replace.Version
			}
			return d.Version
		}
	}
	return "unknown"
})
