package console

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Usuarios are the console's accounts: CONSOLE_USERS, "name:bcrypt-hash" pairs separated by
// commas, the scheme of Prometheus' web UI. `reconciler console-user NAME` prints a pair.
type Usuarios struct {
	hashes map[string][]byte
	// dummy is compared for an unknown name, at the highest cost of the accounts, so that an
	// unknown name takes as long as a wrong password; made at the first unknown name.
	dummyOnce sync.Once
	dummy     []byte

	// bcrypt takes tens of milliseconds on purpose; a browser sends the credentials with every
	// request, so a successful check is remembered for a while, by a digest of the pair.
	mu        sync.Mutex
	validados map[[sha256.Size]byte]time.Time

	comparaciones atomic.Uint64
}

// recordar is how long a checked pair is trusted without bcrypt.
const recordar = 5 * time.Minute

// ParseUsuarios reads CONSOLE_USERS. Its errors never quote a hash.
func ParseUsuarios(s string) (*Usuarios, error) {
	u := &Usuarios{hashes: map[string][]byte{}, validados: map[[sha256.Size]byte]time.Time{}}
	for i, par := range strings.Split(s, ",") {
		par = strings.TrimSpace(par)
		if par == "" {
			continue
		}
		name, hash, ok := strings.Cut(par, ":")
		if !ok || name == "" {
			return nil, fmt.Errorf("CONSOLE_USERS: entry %d is not name:bcrypt-hash (create one with `reconciler console-user NAME`)", i+1)
		}
		if _, err := bcrypt.Cost([]byte(hash)); err != nil {
			return nil, fmt.Errorf("CONSOLE_USERS: the hash of %q is not a bcrypt hash (create one with `reconciler console-user %s`)", name, name)
		}
		if _, dup := u.hashes[name]; dup {
			return nil, fmt.Errorf("CONSOLE_USERS: %q appears twice", name)
		}
		u.hashes[name] = []byte(hash)
	}
	return u, nil
}

// dummyHash is a hash of nobody's password at the accounts' highest cost.
func (u *Usuarios) dummyHash() []byte {
	u.dummyOnce.Do(func() {
		maxCost := bcrypt.DefaultCost
		for _, h := range u.hashes {
			if c, _ := bcrypt.Cost(h); c > maxCost {
				maxCost = c
			}
		}
		u.dummy, _ = bcrypt.GenerateFromPassword([]byte("not a password of anyone"), maxCost)
	})
	return u.dummy
}

// Len is the number of accounts.
func (u *Usuarios) Len() int { return len(u.hashes) }

// Comparaciones is how many bcrypt comparisons Valido has made: what guessing has cost.
func (u *Usuarios) Comparaciones() uint64 { return u.comparaciones.Load() }

// recordada is the key of the pair in validados.
func recordada(name, password string, hash []byte) [sha256.Size]byte {
	return sha256.Sum256([]byte(name + "\x00" + password + "\x00" + string(hash)))
}

// Recordado reports whether the pair was found valid less than 5 minutes ago: true means
// valid, with no bcrypt comparison; false means Valido must decide.
func (u *Usuarios) Recordado(name, password string, now time.Time) bool {
	hash, ok := u.hashes[name]
	if !ok {
		return false
	}
	key := recordada(name, password, hash)
	u.mu.Lock()
	until, cached := u.validados[key]
	u.mu.Unlock()
	return cached && now.Before(until)
}

// Valido reports whether password is name's.
func (u *Usuarios) Valido(name, password string, now time.Time) bool {
	hash, ok := u.hashes[name]
	if !ok {
		// Compare anyway, so that an unknown name takes as long as a wrong password.
		u.comparaciones.Add(1)
		_ = bcrypt.CompareHashAndPassword(u.dummyHash(), []byte(password))
		return false
	}
	if u.Recordado(name, password, now) {
		return true
	}
	key := recordada(name, password, hash)
	u.comparaciones.Add(1)
	if bcrypt.CompareHashAndPassword(hash, []byte(password)) != nil {
		return false
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	for k, t := range u.validados { // keep the cache small: drop what expired
		if now.After(t) {
			delete(u.validados, k)
		}
	}
	u.validados[key] = now.Add(recordar)
	return true
}

// Par returns the CONSOLE_USERS entry for name and password.
func Par(name, password string) (string, error) {
	switch {
	case name == "" || strings.ContainsAny(name, ":, \t\n"):
		return "", errors.New("the name must not be empty nor contain ':', ',' or spaces")
	case len(password) < 12:
		return "", errors.New("the password must have at least 12 characters")
	case len(password) > 72:
		return "", errors.New("the password must have at most 72 bytes (bcrypt's limit)")
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return "", err
	}
	return name + ":" + string(hash), nil
}
