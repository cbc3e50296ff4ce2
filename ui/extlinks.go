package ui

import (
	"almanac/catalog"
)

// This file links pages to where work is tracked elsewhere, from the
// configured URL templates (Options.Links): the incident page's "open a
// ticket", the dataset page's documentation, and jobs' code.

// jobCodeURL is the link to the code of job j: its sourceCodeLocation
// when that is an http(s) URL, else the configured code host's template;
// "" when neither gives one. Every page that shows a job links its code
// through it (and the jobCode component).
func (s *Server) jobCodeURL(j catalog.Job) string { return s.links.CodeURL(j) }

// addCodeLinks sets the code links of the jobs of a dataset's activity,
// which newActivityView lists in the order of jobs, live ones only.
func (s *Server) addCodeLinks(act *activityView, jobs catalog.DatasetJobs) {
	set := func(views []jobView, js []catalog.Job) {
		i := 0
		for _, j := range js {
			if j.RemovedAt != nil {
				continue
			}
			if i < len(views) && views[i].Name == j.Key.Name {
				views[i].Code = s.jobCodeURL(j)
			}
			i++
		}
	}
	set(act.Producers, jobs.Producers)
	set(act.Consumers, jobs.Consumers)
}
