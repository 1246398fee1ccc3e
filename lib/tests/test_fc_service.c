/*  fc_service_attach: every endpoint of a comma list is bound or connected, empty
    items are skipped, and a bad endpoint fails the call without hiding the others. */
#include <czmq.h>

#include "fc_log.h"
#include "fc_service.h"
#include "fc_test.h"

int main(void)
{
    zsys_handler_set(NULL);
    fc_log_set_level(FC_LOG_ERROR);
    zsock_t *pull = zsock_new(ZMQ_PULL);
    FC_CHECK_INT(fc_service_attach(pull, "inproc://fc-a,,inproc://fc-b,", true, "test"), 0);
    //  Both endpoints are bound: a PUSH connected to either one delivers.
    zsock_t *push = zsock_new(ZMQ_PUSH);
    FC_CHECK_INT(fc_service_attach(push, "inproc://fc-b", false, "test"), 0);
    zstr_send(push, "via b");
    zsock_set_rcvtimeo(pull, 2000);
    char *got = zstr_recv(pull);
    FC_CHECK_STR(got, "via b");
    zstr_free(&got);
    zsock_destroy(&push);
    push = zsock_new(ZMQ_PUSH);
    FC_CHECK_INT(fc_service_attach(push, "inproc://fc-a", false, "test"), 0);
    zstr_send(push, "via a");
    got = zstr_recv(pull);
    FC_CHECK_STR(got, "via a");
    zstr_free(&got);
    //  A bad endpoint among good ones: -1, and the good one after it is still bound.
    zsock_t *other = zsock_new(ZMQ_PULL);
    FC_CHECK_INT(fc_service_attach(other, "nonsense://x,inproc://fc-c", true, "test"), -1);
    zsock_t *push_c = zsock_new(ZMQ_PUSH);
    FC_CHECK_INT(fc_service_attach(push_c, "inproc://fc-c", false, "test"), 0);
    zstr_send(push_c, "via c");
    zsock_set_rcvtimeo(other, 2000);
    got = zstr_recv(other);
    FC_CHECK_STR(got, "via c");
    zstr_free(&got);
    //  Nothing to attach is not an error.
    FC_CHECK_INT(fc_service_attach(other, "", true, "test"), 0);
    FC_CHECK_INT(fc_service_attach(other, NULL, true, "test"), 0);
    zsock_destroy(&push_c);
    zsock_destroy(&other);
    zsock_destroy(&push);
    zsock_destroy(&pull);
    return fc_test_done("test_fc_service");
}
