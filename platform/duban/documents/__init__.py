"""Official documents (公文): the collection form, assignment and supervision notices, the weekly
report, circulars and the annual assessment table, as PDF (WeasyPrint, GB/T 9704 layout), Word
and Excel — numbered per county per year, each with a verification code."""
