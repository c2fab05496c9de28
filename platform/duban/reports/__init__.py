"""Reports: the weekly 督查专报 (drafted by beat at the pack's weekly time, edited and issued by
supervision staff) and the annual assessment (年度考评) data."""
