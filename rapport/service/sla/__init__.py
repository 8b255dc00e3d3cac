"""Service goals (SLA): the business-time clock (``clock``), the case targets it keeps
(``targets``), calendars and policies (``services``, ``selectors``), and the periodic
check that sends warnings and breach notices (``notices``, ``scheduler``)."""
