// Package webhook is the vocabulary of tourd's outbound webhooks
// (webhooks.md): the types of the changes they carry, the topics an
// endpoint subscribes to, its signing secret and how that secret is kept
// at rest, and the guard on the addresses deliveries may reach. The v2
// routes that manage endpoints, the deliverer and the change feed share
// it.
package webhook

import (
	"slices"
	"strings"
	"unicode/utf8"

	"tourd/internal/userdata"
)

// The types of the changes the change log records (webhooks.md §1), which
// are the topics deliveries are published under.
const (
	UserCreated       = "user.created"
	UserUpdated       = "user.updated"
	UserDeleted       = "user.deleted"
	CompanyCreated    = "company.created"
	CompanyUpdated    = "company.updated"
	CompanyDeleted    = "company.deleted"
	MembershipCreated = "membership.created"
	MembershipUpdated = "membership.updated"
	MembershipDeleted = "membership.deleted"
	// EventTrackedPrefix starts the type of a tracked event: the event's
	// codeName follows it (EventTracked).
	EventTrackedPrefix = "event.tracked."
)

// ChangeTypes are the change types that are not events, in the order of
// webhooks.md §1.
var ChangeTypes = [...]string{
	UserCreated, UserUpdated, UserDeleted,
	CompanyCreated, CompanyUpdated, CompanyDeleted,
	MembershipCreated, MembershipUpdated, MembershipDeleted,
}

// EventTracked returns the change type of an event of codeName.
func EventTracked(codeName string) string { return EventTrackedPrefix + codeName }

// Test is the type of the test messages an endpoint is sent on request.
// It cannot be subscribed to: a test is addressed to one endpoint, topics
// aside.
const Test = "webhook.test"

// Topic subscriptions beyond the change types.
const (
	// Wildcard subscribes to every topic but the noisy events.
	Wildcard = "*"
	// ContentPublished, and its family "content", are accepted for
	// compatibility with Usertour and never match: tourd has no content.
	ContentPublished = "content.published"
)

// families are the topics that match every topic of their family, those
// added later included: the family itself and what follows it after a dot.
var families = []string{"user", "company", "membership", "event.tracked", "content"}

// noisyEvents are the events that only an exact topic subscribes to:
// neither the wildcard nor the event.tracked family covers them.
var noisyEvents = []string{"page_viewed"}

// Limits of a subscription list (Usertour's CreateWebhookBodyDto).
const (
	MaxTopics      = 100
	MaxTopicLength = 200 // characters
)

// Topics is an endpoint's subscription list: topics that passed
// ParseTopics.
type Topics []string

// ParseTopics checks a subscription list (webhooks.md §2): 1 to MaxTopics
// topics of 1 to MaxTopicLength characters, each "*", a family ("user",
// "company", "membership", "event.tracked", "content"), an exact change
// type, "event.tracked.<codeName>" or "content.published". It returns the
// list without repeats, in the order given, or a CodeInvalid error naming
// the first topic it refuses.
func ParseTopics(list []string) (Topics, error) {
	switch {
	case len(list) == 0:
		return nil, userdata.Errorf(userdata.CodeInvalid, "At least one topic subscription is required.")
	case len(list) > MaxTopics:
		return nil, userdata.Errorf(userdata.CodeInvalid, "At most %d topic subscriptions per endpoint.", MaxTopics)
	}
	out := make(Topics, 0, len(list))
	for i, t := range list {
		if n := utf8.RuneCountInString(t); n == 0 || n > MaxTopicLength {
			return nil, userdata.Errorf(userdata.CodeInvalid, "topics[%d] must be 1 to %d characters long", i, MaxTopicLength)
		}
		if !validTopic(t) {
			return nil, errInvalidTopic(t)
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out, nil
}

// validTopic reports whether t is a topic one may subscribe to.
func validTopic(t string) bool {
	switch {
	case t == Wildcard, t == ContentPublished, slices.Contains(families, t), slices.Contains(ChangeTypes[:], t):
		return true
	}
	codeName, ok := strings.CutPrefix(t, EventTrackedPrefix)
	return ok && codeName != ""
}

// errInvalidTopic is the error of a topic validTopic refuses, which names
// every kind of topic there is (Usertour's message, with tourd's
// families).
func errInvalidTopic(t string) error {
	quoted := make([]string, len(families))
	for i, f := range families {
		quoted[i] = `"` + f + `"`
	}
	return userdata.Errorf(userdata.CodeInvalid,
		`Invalid topic subscription %q — expected "*", a family name (%s), "event.tracked.<codeName>", or an exact topic such as %q / %q.`,
		t, strings.Join(quoted, ", "), UserUpdated, MembershipDeleted)
}

// Match reports whether the subscriptions cover a change of the given
// type: "*" covers every type, a family every type in it (user covers
// user.created, event.tracked every event.tracked.<codeName>), any other
// topic only itself. The noisy events (page_viewed) are left out of "*"
// and of the event.tracked family: only their exact topic covers them.
// Nothing ever matches a partial codeName: event.tracked.my does not
// cover event.tracked.my.event.
func (t Topics) Match(changeType string) bool {
	noisy := isNoisy(changeType)
	for _, s := range t {
		switch {
		case s == changeType:
			return true
		case noisy:
		case s == Wildcard:
			return true
		case slices.Contains(families, s) && strings.HasPrefix(changeType, s+"."):
			return true
		}
	}
	return false
}

// isNoisy reports whether changeType is the type of a noisy event.
func isNoisy(changeType string) bool {
	codeName, ok := strings.CutPrefix(changeType, EventTrackedPrefix)
	return ok && slices.Contains(noisyEvents, codeName)
}
