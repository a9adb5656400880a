package apiv2

import (
	"net/http"
	"net/url"
	"slices"

	"tourd/internal/httpapi/wire"
	"tourd/internal/userdata"
	"tourd/internal/webhook"
)

// The routes of an environment's webhook endpoints (webhooks.md §2).

// webhookJSON is a webhook object (Usertour's WebhookDto). The signing
// secret is present only where webhookAnswer puts it.
type webhookJSON struct {
	ID                  string   `json:"id"`
	Object              string   `json:"object"`
	CreatedAt           string   `json:"createdAt"`
	URL                 string   `json:"url"`
	Topics              []string `json:"topics"`
	Enabled             bool     `json:"enabled"`
	Description         *string  `json:"description"`
	ConsecutiveFailures int      `json:"consecutiveFailures"`
	CooldownUntil       *string  `json:"cooldownUntil"`
	AutoDisabledAt      *string  `json:"autoDisabledAt"`
	Secret              *string  `json:"secret,omitempty"`
}

// newWebhook returns the object of wh, without its secret.
func newWebhook(wh *userdata.Webhook) webhookJSON {
	out := webhookJSON{ID: wh.ID, Object: "webhook", CreatedAt: userdata.FormatTime(wh.CreatedAt), URL: wh.URL,
		Topics: wh.Topics, Enabled: wh.Enabled, ConsecutiveFailures: wh.ConsecutiveFailures,
		CooldownUntil: userdata.FormatOptionalTime(wh.CooldownUntil), AutoDisabledAt: userdata.FormatOptionalTime(wh.AutoDisabledAt)}
	if wh.Description != "" {
		out.Description = &wh.Description
	}
	return out
}

// webhookAnswer answers with the object of wh and its signing secret,
// secret: the plaintext of wh.Secret, "" when it can no longer be opened
// (WebhookDto's "rotate me"). The secret rides only on the answers of
// create, rotate-secret and, for a token holding webhook:manage, the
// single-object read (Usertour's exposure rule).
func webhookAnswer(status int, wh *userdata.Webhook, secret string) (int, any, error) {
	out := newWebhook(wh)
	out.Secret = &secret
	return status, out, nil
}

func (a *api) listWebhooks(rq *request) (int, any, error) {
	q, err := wire.ParseQuery(rq.URL.RawQuery)
	if err != nil {
		return 0, nil, err
	}
	p := userdata.PageRequest{Sort: []userdata.Sort{{Field: userdata.SortCreatedAt}}, IDFollowsSort: true}
	if p.Limit, err = q.Limit(); err != nil {
		return 0, nil, err
	}
	if p.Cursor, _, err = q.Single("cursor"); err != nil {
		return 0, nil, err
	}
	l, err := a.store.ListWebhooks(rq.Context(), rq.tenant(), p)
	return listAnswer(rq, q, l, err, p.Limit, newWebhook)
}

func (a *api) getWebhook(rq *request) (int, any, error) {
	wh, err := a.store.GetWebhook(rq.Context(), rq.tenant(), rq.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	if !rq.p.Can("webhook:manage") {
		return http.StatusOK, newWebhook(wh), nil
	}
	return webhookAnswer(http.StatusOK, wh, a.secrets.Open(wh.Secret))
}

// createWebhook answers POST E/webhooks: the body (400 E1017), then the
// URL's addresses (400 E0054); 201 with the new secret.
func (a *api) createWebhook(rq *request) (int, any, error) {
	u, target, err := webhookBody(rq)
	if err != nil {
		return 0, nil, err
	}
	switch {
	case u.URL == nil:
		return 0, nil, userdata.Errorf(userdata.CodeInvalid, "url is required")
	case u.Topics == nil:
		return 0, nil, userdata.Errorf(userdata.CodeInvalid, "topics is required")
	}
	in := userdata.WebhookInput{URL: *u.URL, Topics: u.Topics, Enabled: true}
	if u.Enabled != nil {
		in.Enabled = *u.Enabled
	}
	if u.Description != nil {
		in.Description = *u.Description
	}
	if err := a.guard.CheckURL(rq.Context(), target); err != nil {
		return 0, nil, err
	}
	secret := webhook.NewSecret()
	in.Secret = a.secrets.Seal(secret)
	wh, err := a.store.CreateWebhook(rq.Context(), rq.tenant(), &in)
	if err != nil {
		return 0, nil, err
	}
	return webhookAnswer(http.StatusCreated, wh, secret)
}

// updateWebhook answers PATCH E/webhooks/{id}: the body (400 E1017), the
// webhook (404 E0061), then a new URL's addresses (400 E0054), as
// Usertour checks them. Its answer has no secret.
func (a *api) updateWebhook(rq *request) (int, any, error) {
	u, target, err := webhookBody(rq)
	if err != nil {
		return 0, nil, err
	}
	id := rq.PathValue("id")
	if target != nil {
		if _, err := a.store.GetWebhook(rq.Context(), rq.tenant(), id); err != nil {
			return 0, nil, err
		}
		if err := a.guard.CheckURL(rq.Context(), target); err != nil {
			return 0, nil, err
		}
	}
	wh, err := a.store.UpdateWebhook(rq.Context(), rq.tenant(), id, u)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, newWebhook(wh), nil
}

func (a *api) deleteWebhook(rq *request) (int, any, error) {
	return http.StatusNoContent, nil, a.store.DeleteWebhook(rq.Context(), rq.tenant(), rq.PathValue("id"))
}

// rotateWebhookSecret answers POST E/webhooks/{id}/rotate-secret: no body
// (one is parsed, as every body is, and ignored); 200 with the new secret,
// which deliveries sign with from then on.
func (a *api) rotateWebhookSecret(rq *request) (int, any, error) {
	secret := webhook.NewSecret()
	sealed := a.secrets.Seal(secret)
	wh, err := a.store.UpdateWebhook(rq.Context(), rq.tenant(), rq.PathValue("id"), &userdata.WebhookUpdate{Secret: &sealed})
	if err != nil {
		return 0, nil, err
	}
	return webhookAnswer(http.StatusOK, wh, secret)
}

// webhookBody decodes the body of a POST or PATCH, a closed object whose
// members are each absent or valid (Usertour's CreateWebhookBodyDto,
// UpdateWebhookBodyDto): the url's form, the topics' grammar, the
// description's length. It also returns the url parsed, nil when absent.
func webhookBody(rq *request) (*userdata.WebhookUpdate, *url.URL, error) {
	o, err := rq.object("url", "topics", "enabled", "description")
	if err != nil {
		return nil, nil, err
	}
	var u userdata.WebhookUpdate
	var target *url.URL
	raw, err := optional(o, "url")
	if err != nil {
		return nil, nil, err
	}
	if raw != nil {
		if target, err = webhook.ParseURL(*raw); err != nil {
			return nil, nil, err
		}
		u.URL = raw
	}
	topics, err := names(o, "topics")
	if err != nil {
		return nil, nil, err
	}
	if topics != nil {
		if u.Topics, err = webhook.ParseTopics(*topics); err != nil {
			return nil, nil, err
		}
	}
	if _, present := o["enabled"]; present {
		enabled, err := o.Bool("enabled")
		if err != nil {
			return nil, nil, err
		}
		u.Enabled = &enabled
	}
	if u.Description, err = optional(o, "description"); err != nil {
		return nil, nil, err
	}
	return &u, target, u.Validate()
}

// deliveryJSON is a delivery of a message to a webhook (webhooks.md §2):
// the message's id and type, where it stands, and its attempts.
type deliveryJSON struct {
	ID            string        `json:"id"`
	Object        string        `json:"object"`
	Type          string        `json:"type"`
	Status        string        `json:"status"`
	CreatedAt     string        `json:"createdAt"`
	NextAttemptAt *string       `json:"nextAttemptAt"`
	Attempts      []attemptJSON `json:"attempts"`
}

// attemptJSON is one attempt of a delivery.
type attemptJSON struct {
	Attempt        int     `json:"attempt"`
	CreatedAt      string  `json:"createdAt"`
	Success        bool    `json:"success"`
	ResponseStatus *int    `json:"responseStatus"`
	Error          *string `json:"error"`
	DurationMs     int64   `json:"durationMs"`
	ResponseBody   *string `json:"responseBody"`
}

// newDelivery returns the object of d.
func newDelivery(d *userdata.Delivery) deliveryJSON {
	out := deliveryJSON{ID: d.ID, Object: "webhookDelivery", Type: d.Type, Status: string(d.Status),
		CreatedAt: userdata.FormatTime(d.CreatedAt), NextAttemptAt: userdata.FormatOptionalTime(d.NextAt), Attempts: []attemptJSON{}}
	for _, a := range d.Log {
		aj := attemptJSON{Attempt: a.Number, CreatedAt: userdata.FormatTime(a.At), Success: a.OK, DurationMs: a.Duration.Milliseconds()}
		if a.HTTPStatus != 0 {
			aj.ResponseStatus = &a.HTTPStatus
		}
		if a.Error != "" {
			aj.Error = &a.Error
		}
		if a.Response != "" {
			aj.ResponseBody = &a.Response
		}
		out.Attempts = append(out.Attempts, aj)
	}
	return out
}

// deliveryStatuses are the values of the status filter of the deliveries.
var deliveryStatuses = []userdata.DeliveryStatus{userdata.DeliveryPending, userdata.DeliverySucceeded, userdata.DeliveryFailed}

// listDeliveries answers GET E/webhooks/{id}/deliveries: the webhook's
// deliveries, newest first, of one status if status is given.
func (a *api) listDeliveries(rq *request) (int, any, error) {
	q, err := wire.ParseQuery(rq.URL.RawQuery)
	if err != nil {
		return 0, nil, err
	}
	p := userdata.PageRequest{Sort: []userdata.Sort{{Field: userdata.SortCreatedAt, Desc: true}}, IDFollowsSort: true}
	if p.Limit, err = q.Limit(); err != nil {
		return 0, nil, err
	}
	if p.Cursor, _, err = q.Single("cursor"); err != nil {
		return 0, nil, err
	}
	status, _, err := q.Single("status")
	if err != nil {
		return 0, nil, err
	}
	if status != "" && !slices.Contains(deliveryStatuses, userdata.DeliveryStatus(status)) {
		return 0, nil, userdata.Errorf(userdata.CodeInvalid, "status must be one of pending, succeeded, failed, not %q", status)
	}
	l, err := a.store.ListDeliveries(rq.Context(), rq.tenant(), rq.PathValue("id"), userdata.DeliveryStatus(status), p)
	return listAnswer(rq, q, l, err, p.Limit, newDelivery)
}

// resendMessage answers POST E/webhooks/{id}/messages/{messageId}/resend:
// the webhook (404 E0061), which must be enabled (400 E1017), its
// delivery of the message (404 E0062), which must be settled (400 E1017);
// 202 with the delivery, queued for one more attempt.
func (a *api) resendMessage(rq *request) (int, any, error) {
	d, err := a.deliverer.Resend(rq.Context(), rq.tenant(), rq.PathValue("id"), rq.PathValue("messageId"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusAccepted, newDelivery(d), nil
}

// testWebhook answers POST E/webhooks/{id}/test: a webhook.test message
// sent now (404 E0061; 400 E1017 when the webhook is disabled); 200 with
// its delivery, whatever the receiver answered.
func (a *api) testWebhook(rq *request) (int, any, error) {
	d, err := a.deliverer.SendTest(rq.Context(), rq.tenant(), rq.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, newDelivery(d), nil
}
