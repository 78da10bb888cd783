// Package testkit is the tests' tooling, shared by the ingest, reconciler and system tests and
// never imported by production code: a real NATS JetStream server with a namespace of subjects
// and streams per test, and a real PostgreSQL server with a throwaway database per test.
//
// Each server is the address in an environment variable when it is set (TEST_NATS_URL,
// TEST_DATABASE_URL: CI and this repository's machines); otherwise testcontainers-go starts one
// container per test binary. When neither is possible the test is skipped with a message,
// except when CI is set: there a missing server fails the run.
package testkit

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"
)

// service is a server for tests: the address in the environment variable env or, when it is
// empty, one started by start (a container) once per test binary.
type service struct {
	name  string
	env   string
	start func(context.Context) (string, error)

	once sync.Once
	url  string
	err  error
}

// URL returns the service's address, skipping tb when there is none (failing it when CI is set).
func (s *service) URL(tb testing.TB) string {
	tb.Helper()
	s.once.Do(func() {
		if s.url = os.Getenv(s.env); s.url != "" {
			return
		}
		s.url, s.err = s.startContainer()
	})
	if s.err != nil {
		s.unavailable(tb, s.err)
	}
	return s.url
}

func (s *service) startContainer() (_ string, err error) {
	defer func() {
		// Some Docker-host probes panic when there is no engine at all.
		if r := recover(); r != nil {
			err = fmt.Errorf("testcontainers: %v", r)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return s.start(ctx)
}

// unavailable skips tb because the service is missing, or fails it when CI is set.
func (s *service) unavailable(tb testing.TB, err error) {
	tb.Helper()
	msg := fmt.Sprintf("%s unavailable: set %s or run a Docker engine for testcontainers (%v)", s.name, s.env, err)
	if os.Getenv("CI") != "" {
		tb.Fatal(msg)
	}
	tb.Skip(msg)
}
