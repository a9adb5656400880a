// Package wire is what every version of the REST API puts on or takes off
// the wire: the error envelope and the one table that maps domain errors
// to statuses and codes, JSON answers, the wire forms of users, companies,
// memberships, definitions, events and lists, request bodies and query
// strings.
package wire
