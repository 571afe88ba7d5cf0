# Third-party libraries, all from Debian 12 packages (scripts/setup-deps).
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)

# CAF 0.17 ships no CMake or pkg-config files. Never link caf_openssl: it pulls
# OpenSSL 3, which must not share a process with BoringSSL.
find_path(CAF_INCLUDE_DIR caf/all.hpp REQUIRED)
find_library(CAF_CORE_LIBRARY caf_core REQUIRED)
find_library(CAF_IO_LIBRARY caf_io REQUIRED)
add_library(tb_caf INTERFACE)
target_include_directories(tb_caf SYSTEM INTERFACE ${CAF_INCLUDE_DIR})
target_link_libraries(tb_caf INTERFACE ${CAF_IO_LIBRARY} ${CAF_CORE_LIBRARY}
                                       Threads::Threads)

pkg_check_modules(LIBUV REQUIRED IMPORTED_TARGET libuv)
find_package(simdjson CONFIG REQUIRED)
find_path(RAPIDXML_INCLUDE_DIR rapidxml/rapidxml.hpp REQUIRED)
add_library(tb_rapidxml INTERFACE)
target_include_directories(tb_rapidxml SYSTEM INTERFACE ${RAPIDXML_INCLUDE_DIR})

# BoringSSL: headers in /usr/include/android, libraries in <multiarch>/android.
set(TB_BSSL_LIBDIR /usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}/android)
find_library(BSSL_CRYPTO_LIBRARY crypto PATHS ${TB_BSSL_LIBDIR} NO_DEFAULT_PATH
             REQUIRED)
find_library(BSSL_SSL_LIBRARY ssl PATHS ${TB_BSSL_LIBDIR} NO_DEFAULT_PATH
             REQUIRED)
add_library(tb_boringssl INTERFACE)
target_include_directories(tb_boringssl SYSTEM BEFORE
                           INTERFACE /usr/include/android)
target_link_libraries(tb_boringssl INTERFACE ${BSSL_SSL_LIBRARY}
                                             ${BSSL_CRYPTO_LIBRARY})

pkg_check_modules(PAM REQUIRED IMPORTED_TARGET pam)
find_package(zstd CONFIG REQUIRED)
find_package(libjpeg-turbo CONFIG REQUIRED)
find_package(GTest CONFIG REQUIRED)
include(GoogleTest)

# tb_library(<name> [DEPS <targets>...]): one library per source folder, made
# of every .cpp in it. A folder with no sources yet is an INTERFACE library.
function(tb_library name)
  cmake_parse_arguments(ARG "" "" "DEPS" ${ARGN})
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp
       ${CMAKE_CURRENT_SOURCE_DIR}/*/*.cpp)
  if(srcs)
    add_library(${name} STATIC ${srcs})
    target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
    target_link_libraries(${name} PUBLIC ${ARG_DEPS})
  else()
    add_library(${name} INTERFACE)
    target_include_directories(${name} INTERFACE ${PROJECT_SOURCE_DIR})
    target_link_libraries(${name} INTERFACE ${ARG_DEPS})
  endif()
endfunction()

# tb_test_suite(<name> DEPS ...): one GoogleTest executable per tests/ folder
# made of its *_test.cpp files; LABELS go to every discovered test.
function(tb_test_suite name)
  cmake_parse_arguments(ARG "" "" "DEPS;LABELS" ${ARGN})
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*_test.cpp)
  if(NOT srcs)
    return()
  endif()
  add_executable(${name} ${srcs})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest_main)
  target_compile_definitions(${name} PRIVATE
    TB_SOURCE_DIR="${PROJECT_SOURCE_DIR}" TB_BINARY_DIR="${PROJECT_BINARY_DIR}")
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  gtest_discover_tests(${name} PROPERTIES LABELS "${ARG_LABELS}"
                       DISCOVERY_TIMEOUT 60)
endfunction()
