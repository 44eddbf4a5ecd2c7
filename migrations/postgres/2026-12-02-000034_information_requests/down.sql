DROP TABLE information_request_recipients;
DROP TABLE information_requests;
