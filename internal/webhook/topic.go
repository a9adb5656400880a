// Package webhook is the vocabulary of tourd's outbound webhooks
// (webhooks.md): the types of the changes they carry, the topics an
// endpoint subscribes to, its signing secret and how that secret is kept
// at rest, and the guard on the addresses deliveries may reach. The v2
// routes that manage endpoints, the deliverer and the change feed share
// it.
package webhook

import (
	"slices"

	"tourd/internal/userdata"
)

// Test is the type of the test messages an endpoint is sent on request.
// It cannot be subscribed to: a test is addressed to one endpoint, topics
// aside.
const Test = "webhook.test"

// Topics is an endpoint's subscription list, as given: topics that passed
// ParseTopics. The change types and the rules of topics are
// userdata's (userdata.ParseTopics), which the change feed's types
// share.
type Topics []string

// ParseTopics checks a subscription list (webhooks.md §2,
// userdata.ParseTopics) and returns it without repeats, in the order
// given, or a CodeInvalid error naming the first topic it refuses.
func ParseTopics(list []string) (Topics, error) {
	if _, err := userdata.ParseTopics("topics", list); err != nil {
		return nil, err
	}
	out := make(Topics, 0, len(list))
	for _, t := range list {
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out, nil
}

// Filter returns the filter of the changes the subscriptions cover.
func (t Topics) Filter() userdata.TypeFilter {
	f, _ := userdata.ParseTopics("topics", t)
	return f
}

// Match reports whether the subscriptions cover a change of the given
// type: "*" covers every type, a family every type in it (user covers
// user.created, event.tracked every event.tracked.<codeName>), any other
// topic only itself. page_viewed events are left out of "*" and of the
// event.tracked family: only their exact topic covers them. Nothing ever
// matches a partial codeName: event.tracked.my does not cover
// event.tracked.my.event.
func (t Topics) Match(changeType string) bool { return t.Filter().Match(changeType) }
