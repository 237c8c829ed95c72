package host

// MaxArgsBytes is the largest JSON args a job may have on this host
// (Config.MaxArgsBytes), so that a server in front of it can size what
// it accepts by what a valid request needs.
func (h *Host) MaxArgsBytes() int { return h.cfg.MaxArgsBytes }
