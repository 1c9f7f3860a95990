package config

// validate requires SendURL: without it replies to players would have nowhere to go.
func (s *LoopbackChannel) validate(path string, p *problems) {
	checkHTTPURL(p, joinKey(path, "send_url"), s.SendURL, true)
}

// validate requires URL: without it conversations would have nowhere to go.
func (s *LoopbackHelpdesk) validate(path string, p *problems) {
	checkHTTPURL(p, joinKey(path, "url"), s.URL, true)
}
