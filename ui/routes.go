package ui

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"almanac/lineage/olapi"
)

// jsonRoutes are the routes of the APIs that take writes: their bodies
// must be JSON. Every other route that takes a POST is the portal's, and
// takes its HTML forms (see writeBodies).
var jsonRoutes = map[string]bool{
	"POST /graphql":              true,
	"POST /api/v1/lineage":       true,
	"POST /api/v1/lineage/batch": true,
}

// routes declares every route the server answers, in one place: the
// portal's pages and assets, the GraphQL API, the OpenLineage and Marquez
// endpoints, and the operational endpoints. Handler wraps them all in the
// same middleware.
func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()

	// Pages.
	mux.Handle("GET /{$}", s.handle(s.serveHome))
	mux.Handle("GET /datasets/{ns}/{name...}", s.handle(s.serveDataset))
	mux.Handle("GET /sources", s.handle(s.serveSources))
	mux.Handle("GET /jobs", s.handle(s.serveJobs))
	mux.Handle("GET /jobs/{ns}/{name...}", s.handle(s.serveJob))
	mux.Handle("GET /runs", s.handle(s.serveRuns))
	mux.Handle("GET /runs/{id}", s.handle(s.serveJobOrCrawlRun))
	mux.Handle("GET /incidents", s.handle(s.serveIncidents))
	mux.Handle("GET /incidents/{id}", s.handle(s.serveIncident))
	mux.Handle("GET /teams", s.handle(s.serveTeams))
	mux.Handle("GET /teams/{team}", s.handle(s.serveTeam))
	mux.Handle("GET /teams/{team}/status", s.handle(s.serveTeamStatus))
	mux.Handle("GET /teams/{team}/report", s.handle(s.serveTeamReport))
	if s.search != nil {
		mux.Handle("GET /search", s.handle(s.serveSearchPage))
		mux.Handle("GET /search/suggest", s.handle(s.serveSuggest))
		mux.Handle("GET /search/export", s.handle(s.serveSearchExport))
	} else {
		mux.Handle("GET /search", s.handle(s.serveSearch))
	}
	if s.lineage != nil {
		mux.Handle("GET /lineage/{ns}/{name...}", s.handle(s.serveLineage))
		mux.Handle("GET /impact/{ns}/{name...}", s.handle(s.serveImpact))
	}
	mux.Handle("GET /history/{ns}/{name...}", s.handle(s.serveHistory))
	mux.Handle("GET /columns/{ns}/{name...}", s.handle(s.serveColumnsExport))
	mux.Handle("GET /admin/audit", s.handle(s.serveAudit))
	mux.Handle("GET /admin/audit.csv", s.handle(s.serveAuditCSV))
	if s.tokens != nil {
		mux.Handle("GET "+accountTokensPath, s.handle(s.serveAccountTokens))
		mux.Handle("POST "+accountTokensPath, s.handle(s.postAccountToken))
		mux.Handle("POST "+accountTokensPath+"/{id}/revoke", s.handle(s.postRevokeToken))
		mux.Handle("GET "+adminTokensPath, s.handle(s.serveAdminTokens))
		mux.Handle("POST "+adminTokensPath, s.handle(s.postAdminToken))
		mux.Handle("POST "+adminTokensPath+"/{id}/revoke", s.handle(s.postRevokeToken))
	}
	mux.Handle("GET /static/", staticHandler())

	// Single sign-on, and the sessions it starts: sign-in and its
	// callback are rate limited per client address; signing out and
	// ending a session are form posts, checked for their origin like
	// every form.
	if s.oidc != nil {
		mux.Handle("GET /auth/login", s.limited(s.handle(s.serveLogin)))
		mux.Handle("GET /auth/callback", s.limited(s.handle(s.serveCallback)))
	}
	if s.sessions != nil {
		mux.Handle("POST /auth/logout", s.handle(s.postLogout))
		mux.Handle("POST /account/sessions/{id}/end", s.handle(s.postEndSession))
		mux.Handle("GET /admin/sessions", s.handle(s.serveAdminSessions))
	}
	mux.Handle("GET /account", s.handle(s.serveAccount))
	// Following datasets, teams and saved searches, and the admins'
	// view of the notifications that could not be delivered.
	mux.Handle("POST "+followsPath, s.handle(s.postFollow))
	mux.Handle("POST "+unfollowPath, s.handle(s.postUnfollow))
	mux.Handle("GET "+adminNotifyPath, s.handle(s.serveAdminNotifications))
	// Anything else is a page that does not exist, shown as one.
	mux.Handle("GET /", s.handle(s.serveNotFound))

	// People's edits, posted by the dataset page's plain HTML forms, and
	// the preview its script asks for.
	mux.Handle("POST /edit/description/{ns}/{name...}", s.handle(s.postDescription))
	mux.Handle("POST /edit/column/{ns}/{name...}", s.handle(s.postColumnDescription))
	mux.Handle("POST /edit/owners/{ns}/{name...}", s.handle(s.postOwners))
	mux.Handle("POST /edit/tags/{ns}/{name...}", s.handle(s.postTags))
	mux.Handle("POST /edit/links/{ns}/{name...}", s.handle(s.postLinks))
	mux.Handle("POST /edit/preview", s.handle(s.postPreview))
	// Acknowledging and resolving incidents, from the dataset page's
	// banners and the incident's page.
	mux.Handle("POST /incidents/{id}/acknowledge", s.handle(s.postAcknowledge))
	mux.Handle("POST /incidents/{id}/resolve", s.handle(s.postResolve))
	mux.Handle("POST /incidents/{id}/review", s.handle(s.postReview))

	// The GraphQL API: a browser's GET gets GraphiQL, which loads its
	// scripts and stylesheets from /graphql/assets/; any other GET runs
	// the query in its URL, a POST the one in its JSON body.
	if s.graphql != nil {
		mux.Handle("GET /graphql", s.graphql)
		mux.Handle("POST /graphql", s.graphql)
		mux.Handle("GET /graphql/assets/", s.graphql)
	}

	// OpenLineage: Marquez-compatible lineage reads, for tools written
	// for Marquez, and the endpoint Airflow, Spark and dbt post events
	// to, open only with a token or when anonymous posting is configured.
	if s.marquez != nil {
		mux.Handle("GET /api/v1/lineage", s.marquez.GetLineage())
		mux.Handle("GET /api/v1/column-lineage", s.marquez.GetColumnLineage())
	}
	if s.receiver != nil {
		mux.Handle("POST /api/v1/lineage", s.receiver.PostLineage())
		mux.Handle("POST /api/v1/lineage/batch", s.receiver.PostBatch())
	} else {
		off := olapi.Off("the OpenLineage endpoint is off: set openlineage.token (or openlineage.anonymous: true) in the configuration")
		mux.Handle("POST /api/v1/lineage", off)
		mux.Handle("POST /api/v1/lineage/batch", off)
	}

	// The change feed as Server-Sent Events, for tools (see changes.go).
	mux.HandleFunc("GET /api/v1/changes/stream", s.serveChangeStream)

	// Operations.
	mux.HandleFunc("GET /healthz", s.serveHealthz)
	mux.HandleFunc("GET /readyz", s.serveReadyz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{
		ErrorLog:      promLogger{s.log},
		ErrorHandling: promhttp.ContinueOnError,
	}))
	return mux
}
