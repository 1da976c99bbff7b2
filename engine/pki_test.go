package engine

import "github.com/rs/zerolog"

func zeroLog() zerolog.Logger { return zerolog.Nop() }
