package wire

import (
	"regexp"
	"strings"
)

var (
	emailLocal = regexp.MustCompile("^[A-Za-z0-9!#$%&'*+/=?^_`{|}~\\x{80}-\\x{10FFFF}-]+(\\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~\\x{80}-\\x{10FFFF}-]+)*$")
	emailLabel = regexp.MustCompile(`^[A-Za-z0-9\x{80}-\x{10FFFF}]([A-Za-z0-9\x{80}-\x{10FFFF}-]*[A-Za-z0-9\x{80}-\x{10FFFF}])?$`)
	emailTLD   = regexp.MustCompile(`^([A-Za-z\x{80}-\x{10FFFF}]{2,}|xn--[A-Za-z0-9-]+)$`)
)

// IsEmail reports whether s is a syntactically valid e-mail address in the
// spirit of validator.js's isEmail defaults: a dot-atom local part of at
// most 64 bytes, and a domain of at least two labels with an alphabetic
// top-level label.
func IsEmail(s string) bool {
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || len(s) > 254 {
		return false
	}
	local, domain := s[:at], s[at+1:]
	if len(local) > 64 || !emailLocal.MatchString(local) {
		return false
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 || !emailTLD.MatchString(labels[len(labels)-1]) {
		return false
	}
	for _, l := range labels {
		if len(l) > 63 || !emailLabel.MatchString(l) {
			return false
		}
	}
	return true
}
