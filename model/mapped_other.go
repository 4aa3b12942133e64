//go:build !linux

package model

import (
	"errors"
	"os"
)

const mappable = false

func mapFile(*os.File, int) (*mapping, error) { return nil, errors.New("not mapped") }
