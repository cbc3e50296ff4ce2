package graph

import (
	"almanac/catalog"
	"almanac/graph/model"
)

// jobStatus is the catalog's JobFilter.Status for the API's status: a
// run state's name, or catalog.StatusNeverRan.
func jobStatus(s *model.JobStatus) string {
	switch {
	case s == nil:
		return ""
	case *s == model.JobStatusNeverRan:
		return catalog.StatusNeverRan
	default:
		return string(*s)
	}
}

// jobSummaryOrder is the catalog's JobFilter.Sort for the API's order.
func jobSummaryOrder(o *model.JobSummaryOrder) string {
	if o == nil {
		return catalog.JobSortName
	}
	return map[model.JobSummaryOrder]string{
		model.JobSummaryOrderName:     catalog.JobSortName,
		model.JobSummaryOrderLastRun:  catalog.JobSortLastRun,
		model.JobSummaryOrderFailures: catalog.JobSortFailures,
		model.JobSummaryOrderDuration: catalog.JobSortDuration,
	}[*o]
}
