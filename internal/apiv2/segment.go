package apiv2

import (
	"encoding/json"
	"net/http"

	"tourd/internal/httpapi/wire"
	"tourd/internal/userdata"
)

// The routes of segments (segments.md §2): definitions are the project's,
// members of manual segments each environment's.

// segmentJSON is a segment object (segments.md §1). conditions is present,
// possibly [], on condition segments only.
type segmentJSON struct {
	ID         string          `json:"id"`
	Object     string          `json:"object"`
	Name       string          `json:"name"`
	BizType    string          `json:"bizType"`
	Kind       string          `json:"kind"`
	Conditions json.RawMessage `json:"conditions,omitempty"`
	CreatedAt  string          `json:"createdAt"`
	UpdatedAt  string          `json:"updatedAt"`
}

func newSegment(sg *userdata.Segment) segmentJSON {
	return segmentJSON{ID: sg.ID, Object: "segment", Name: sg.Name, BizType: sg.BizType.String(), Kind: string(sg.Kind),
		Conditions: sg.Conditions, CreatedAt: userdata.FormatTime(sg.CreatedAt), UpdatedAt: userdata.FormatTime(sg.UpdatedAt)}
}

// expandMemberCount is the one expansion of a segment.
const expandMemberCount = "memberCount"

func (a *api) listSegments(rq *request) (int, any, error) {
	q, err := wire.ParseQuery(rq.URL.RawQuery)
	if err != nil {
		return 0, nil, err
	}
	var f userdata.SegmentFilter
	if f.PageRequest, err = page(q, wire.CreatedAtOrder, wire.CreatedAtOrderNames, "createdAt"); err != nil {
		return 0, nil, err
	}
	bizType, present, err := q.Single("bizType")
	if err != nil {
		return 0, nil, err
	}
	if present {
		if f.BizType, err = segmentBizType(bizType); err != nil {
			return 0, nil, err
		}
	}
	if f.Name, _, err = q.Single("name"); err != nil {
		return 0, nil, err
	}
	l, err := a.store.ListSegments(rq.Context(), rq.projectID, f)
	return listAnswer(rq, q, l, err, f.Limit, newSegment)
}

// getSegment answers GET P/segments/{id} in the order of segments.md §2:
// the query's values, then an environmentId outside the token's list
// (403 E1029: it is in the query, so serve's checks do not see it), then
// the segment (404 E1025), then what expand=memberCount needs.
func (a *api) getSegment(rq *request) (int, any, error) {
	q, err := wire.ParseQuery(rq.URL.RawQuery)
	if err != nil {
		return 0, nil, err
	}
	expand, err := q.List("expand", true)
	if err != nil {
		return 0, nil, err
	}
	for _, x := range expand {
		if x != expandMemberCount {
			return 0, nil, userdata.Errorf(userdata.CodeInvalid, "each value in expand must be one of the following values: %s", expandMemberCount)
		}
	}
	envID, _, err := q.Single("environmentId")
	if err != nil {
		return 0, nil, err
	}
	if envID != "" && !rq.p.InScope(envID) {
		return 0, nil, &userdata.Error{Code: userdata.CodeOutOfScope}
	}
	sg, err := a.store.GetSegment(rq.Context(), rq.projectID, rq.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	if len(expand) > 0 {
		if envID == "" {
			return 0, nil, userdata.Errorf(userdata.CodeInvalid, "expand=memberCount needs `environmentId` — segment members are environment-scoped.")
		}
		env, err := a.store.Environment(rq.Context(), envID)
		if userdata.IsNotFound(err, userdata.ResourceEnvironment) || err == nil && env.ProjectID != rq.projectID {
			return 0, nil, userdata.Errorf(userdata.CodeInvalid, "Environment not found in this project")
		}
		if err != nil {
			return 0, nil, err
		}
		// TODO(segment package): memberCount, the number of rows the users
		// (companies) list walks with segmentId=sg.ID in env (segments.md
		// §4), in the answer's memberCount (after conditions).
	}
	return http.StatusOK, newSegment(sg), nil
}

func (a *api) createSegment(rq *request) (int, any, error) {
	o, err := rq.object("name", "bizType", "kind", "conditions")
	if err != nil {
		return 0, nil, err
	}
	var in userdata.SegmentInput
	if in.Name, err = required(o, "name"); err != nil {
		return 0, nil, err
	}
	bizType, err := required(o, "bizType")
	if err != nil {
		return 0, nil, err
	}
	if in.BizType, err = segmentBizType(bizType); err != nil {
		return 0, nil, err
	}
	kind, err := required(o, "kind")
	if err != nil {
		return 0, nil, err
	}
	in.Kind = userdata.SegmentKind(kind) // Validate refuses any but condition and manual
	conditions, err := segmentConditions(o)
	if err != nil {
		return 0, nil, err
	}
	if conditions != nil {
		in.Conditions = *conditions
	}
	if err := in.Validate(); err != nil {
		return 0, nil, err
	}
	// TODO(segment package): for a condition segment, parse in.Conditions
	// strictly and validate them against the project's definitions
	// (segments.md §3): 400 E1017.
	sg, err := a.store.CreateSegment(rq.Context(), rq.projectID, &in)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, newSegment(sg), nil
}

// updateSegment answers PATCH P/segments/{id}: the body's shape (400),
// then 404 E1025, 409 E1037 and conditions on a segment that is not a
// condition segment (400), checked before new conditions are validated,
// and again by the store, with the change.
func (a *api) updateSegment(rq *request) (int, any, error) {
	o, err := rq.object("name", "conditions")
	if err != nil {
		return 0, nil, err
	}
	var u userdata.SegmentUpdate
	if u.Name, err = optional(o, "name"); err != nil {
		return 0, nil, err
	}
	if u.Conditions, err = segmentConditions(o); err != nil {
		return 0, nil, err
	}
	if err := u.Validate(); err != nil {
		return 0, nil, err
	}
	id := rq.PathValue("id")
	if u.Conditions != nil {
		sg, err := a.store.GetSegment(rq.Context(), rq.projectID, id)
		if err != nil {
			return 0, nil, err
		}
		if err := sg.CheckUpdate(&u); err != nil {
			return 0, nil, err
		}
		// TODO(segment package): parse *u.Conditions strictly and validate
		// them against the project's definitions (segments.md §3): 400
		// E1017.
	}
	sg, err := a.store.UpdateSegment(rq.Context(), rq.projectID, id, &u)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, newSegment(sg), nil
}

func (a *api) deleteSegment(rq *request) (int, any, error) {
	return http.StatusNoContent, nil, a.store.DeleteSegment(rq.Context(), rq.projectID, rq.PathValue("id"))
}

// putSegmentMember adds a member to a manual segment: no body (one is
// parsed, as every body is, and ignored), 204 also when it was a member.
func (a *api) putSegmentMember(rq *request) (int, any, error) {
	id, err := entityID(rq, "externalId")
	if err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, a.store.AddSegmentMember(rq.Context(), rq.tenant(), rq.PathValue("id"), id)
}

// deleteSegmentMember removes a member from a manual segment: 204 also
// when it was not one.
func (a *api) deleteSegmentMember(rq *request) (int, any, error) {
	id, err := entityID(rq, "externalId")
	if err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, a.store.RemoveSegmentMember(rq.Context(), rq.tenant(), rq.PathValue("id"), id)
}

// segmentBizType parses a bizType of the body or the query.
func segmentBizType(s string) (userdata.Scope, error) {
	t, ok := userdata.ParseSegmentBizType(s)
	if !ok {
		return 0, userdata.Errorf(userdata.CodeInvalid, "bizType must be one of the following values: %s", userdata.SegmentBizTypes)
	}
	return t, nil
}

// segmentConditions decodes the conditions member of a body: absent is nil;
// anything but an array (null included) is 400 E1017.
func segmentConditions(o wire.Object) (*json.RawMessage, error) {
	raw, present := o["conditions"]
	if !present {
		return nil, nil
	}
	if len(raw) == 0 || raw[0] != '[' {
		return nil, userdata.Errorf(userdata.CodeInvalid, "conditions must be an array")
	}
	return &raw, nil
}
