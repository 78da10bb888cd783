package contracts

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// EnlaceMaximo is the longest link accepted, in bytes. NubeFacT's links are well under 200.
const EnlaceMaximo = 2048

// enlaceValido checks one of the links NubeFacT sends (enlace, enlace_del_pdf, enlace_del_xml,
// enlace_del_cdr). They are stored and re-published to subscribers, who may open them: only an
// https URL with a host is a link; javascript:, data:, file: or http: are not. An empty string
// or null stays allowed: NubeFacT sends "" while a document does not exist yet. With hosts, the
// link's host must also match one of them (see Decoder.EnlaceHosts).
func enlaceValido(name string, s *string, hosts []string) error {
	if s == nil || *s == "" {
		return nil
	}
	if len(*s) > EnlaceMaximo {
		return &FieldError{name, "must be at most 2048 bytes long"}
	}
	// The prefix is checked as written, not as url.Parse normalises it (HTTPS:// would pass):
	// the event's JSON Schema states the same rule as the pattern ^(https://…)?$.
	if !strings.HasPrefix(*s, "https://") {
		return &FieldError{name, "must be an https:// URL"}
	}
	u, err := url.Parse(*s)
	switch {
	case err != nil:
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which the sender knows and which may be 2 KiB long
		}
		return &FieldError{name, "must be an https:// URL: " + err.Error()}
	case u.Hostname() == "":
		return &FieldError{name, "must be an https:// URL with a host"}
	case u.User != nil:
		// https://www.nubefact.com@evil.example/ points at evil.example: a phishing trick.
		return &FieldError{name, "must not carry a user name or password"}
	case len(hosts) > 0 && !hostAllowed(u.Hostname(), hosts):
		return &FieldError{name, "points to a host that is not allowed (ENLACE_HOSTS)"}
	}
	return nil
}

// hostAllowed reports whether host matches one of the entries: exactly, or, for an entry
// "*.example.com", as any subdomain of example.com (but not example.com itself). Letters are
// compared without regard to ASCII case only: Unicode case folding would let "ſub.example.com"
// match "sub.example.com", and those are different hosts.
func hostAllowed(host string, hosts []string) bool {
	for _, h := range hosts {
		if strings.HasPrefix(h, "*.") {
			suffix := h[1:] // ".example.com"
			if len(host) > len(suffix) && equalFoldASCII(host[len(host)-len(suffix):], suffix) {
				return true
			}
			continue
		}
		if equalFoldASCII(host, h) {
			return true
		}
	}
	return false
}

func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lowerASCII(a[i]) != lowerASCII(b[i]) {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// NewDecoder is the Decoder for an allow-list as configured (ENLACE_HOSTS): blank entries are
// skipped, and an entry ValidarHostDeEnlace refuses is an error naming it.
func NewDecoder(enlaceHosts []string) (Decoder, error) {
	var d Decoder
	for i, h := range enlaceHosts {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		if err := ValidarHostDeEnlace(h); err != nil {
			return Decoder{}, fmt.Errorf("entry #%d %q %w", i+1, h, err)
		}
		d.EnlaceHosts = append(d.EnlaceHosts, h)
	}
	return d, nil
}

// ValidarHostDeEnlace tells whether entry can be one of Decoder.EnlaceHosts: a host name such as
// "www.nubefact.com", or "*." and a host name for its subdomains, in ASCII, without a scheme, a
// port or a path. A service should refuse to start with an entry that fails: it would never
// match, and every notification with a link would be refused.
func ValidarHostDeEnlace(entry string) error {
	name := strings.TrimPrefix(entry, "*.")
	if name == "" || len(name) > 253 {
		return errors.New("must be a host name such as www.nubefact.com or *.nubefact.com")
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return errors.New("must be a host name such as www.nubefact.com or *.nubefact.com (no scheme, port, path or empty label)")
		}
		for i := 0; i < len(label); i++ {
			c := lowerASCII(label[i])
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return errors.New("must be a host name such as www.nubefact.com or *.nubefact.com (letters, digits, hyphens and dots only; * only as a leading \"*.\")")
			}
		}
	}
	return nil
}
