package pluginrpc

import (
	"os"
	"slices"
	"strconv"
	"strings"
)

// AttemptFDEnv names the environment variable that carries the number of
// the file descriptor of the plugin's end of the attempt channel. The host
// sets it on every launch (it learns the protocol version only from the
// handshake); a version 1 plugin ignores it.
const AttemptFDEnv = "BATCHHOST_ATTEMPT_FD"

// versionsEnv is where go-plugin's client lists the protocol versions it
// offers.
const versionsEnv = "PLUGIN_PROTOCOL_VERSIONS"

// HostOffers reports whether the host that launched this process offers
// protocol version v, and the versions it does offer. A host that sends no
// list (not a go-plugin client) counts as offering v.
func HostOffers(v int) (bool, string) {
	list, ok := os.LookupEnv(versionsEnv)
	if !ok {
		return true, ""
	}
	return slices.Contains(strings.Split(list, ","), strconv.Itoa(v)), list
}
