package main

import _ "embed"

// agentsMD is the repository's AGENTS.md: how an agent uses this server.
// `init` writes it into projects. It is embedded here because a Go package
// cannot embed a file from a parent folder.
//
//go:embed AGENTS.md
var agentsMD []byte
